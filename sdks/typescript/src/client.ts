/**
 * The client: builds events from calls and scopes, hands them to the queue, and never throws
 * into the host application once constructed.
 */
import { instrumentConsole, instrumentFetch, restoreConsole, restoreFetch, sdkConsole } from './breadcrumbs.js';
import { exceptionParts } from './exceptions.js';
import { resolveOptions, type PulseKitOptions, type ResolvedOptions } from './options.js';
import { currentPlatform } from './platform.js';
import { EventQueue } from './queue.js';
import { processScope, Scope, scopeStorage } from './scope.js';
import { FetchTransport, type SendOptions } from './transport.js';
import type { Breadcrumb, CaptureHint, DropReason, EventInput, Level, Primitive, User, WireEvent } from './types.js';
import {
  cleanEvent,
  cleanFingerprint,
  cleanMetadata,
  cleanName,
  cleanTags,
  cleanTimestamp,
  cleanUser,
  MAX_MESSAGE_CHARS,
  MAX_TYPE_CHARS,
  normalizeLevel,
  utf8Length,
} from './wire.js';

interface Parts {
  type?: string | undefined;
  level: Level;
  message?: string | undefined;
  exception?: WireEvent['exception'];
  stacktrace?: WireEvent['stacktrace'];
  metadata?: Record<string, unknown> | undefined;
  tags?: Record<string, Primitive> | undefined;
  user?: User | undefined;
  fingerprint?: string[] | undefined;
  timestamp?: string | number | Date | undefined;
}

export class PulseKit {
  readonly options: ResolvedOptions;
  private readonly globalScope = new Scope();
  private readonly queue: EventQueue;
  private readonly uninstallHandlers: () => void;
  private isClosed = false;

  /** Throws PulseKitConfigError, naming the option, when the options cannot work. */
  constructor(options: PulseKitOptions) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.globalScope.setTags(o.tags);
    if (o.user) this.globalScope.setUser(o.user);
    const transport = o.transport ?? new FetchTransport({ endpoint: o.endpoint, apiKey: o.apiKey, timeoutMs: o.timeoutMs });
    this.queue = new EventQueue({
      transport,
      maxQueueSize: o.maxQueueSize,
      maxQueueBytes: o.maxQueueBytes,
      maxBatchSize: o.maxBatchSize,
      batchIntervalMs: o.batchIntervalMs,
      maxRetries: o.maxRetries,
      report: (message) => this.report(message),
    });
    processScope.maxBreadcrumbs = o.maxBreadcrumbs;
    if (o.consoleBreadcrumbs) instrumentConsole();
    if (o.fetchBreadcrumbs) instrumentFetch();
    this.uninstallHandlers = currentPlatform().installHandlers(this);
  }

  /** Reports an error (or anything thrown); returns the event id, or undefined when the event was dropped. */
  captureException(error: unknown, given?: CaptureHint): string | undefined {
    try {
      const hint = given ?? {};
      const parts = exceptionParts(error);
      return this.send({
        type: 'error',
        level: normalizeLevel(hint.level) ?? 'error',
        message: parts.message,
        exception: parts.exception,
        stacktrace: parts.stacktrace,
        metadata: hint.metadata,
        tags: hint.tags,
        user: hint.user,
        fingerprint: hint.fingerprint,
      });
    } catch (failure) {
      return this.internalError(failure);
    }
  }

  /** A custom event, e.g. `{ type: 'payment.success', message: 'Order 1234 paid', metadata: {…} }`. */
  capture(event: EventInput): string | undefined {
    try {
      const input = event ?? {};
      return this.send({
        type: input.type,
        level: normalizeLevel(input.level) ?? 'info',
        message: input.message,
        metadata: input.metadata,
        tags: input.tags,
        user: input.user,
        fingerprint: input.fingerprint,
        timestamp: input.timestamp,
      });
    } catch (failure) {
      return this.internalError(failure);
    }
  }

  /** A message at `level` (default info); the second argument may also be `{ level, tags, metadata, … }`. */
  captureMessage(message: string, levelOrHint?: Level | string | CaptureHint): string | undefined {
    try {
      const hint: CaptureHint = typeof levelOrHint === 'object' && levelOrHint !== null ? levelOrHint : { level: levelOrHint };
      return this.send({
        level: normalizeLevel(hint.level) ?? 'info',
        message: String(message),
        metadata: hint.metadata,
        tags: hint.tags,
        user: hint.user,
        fingerprint: hint.fingerprint,
      });
    } catch (failure) {
      return this.internalError(failure);
    }
  }

  /** Sets a tag on the current scope (a request's, inside one), else on this client. `null` removes it. */
  setTag(key: string, value: Primitive): void {
    this.guard(() => this.targetScope().setTag(key, value));
  }

  setTags(tags: Record<string, Primitive>): void {
    this.guard(() => this.targetScope().setTags(tags));
  }

  setUser(user: User | null): void {
    this.guard(() => this.targetScope().setUser(user));
  }

  /** Merged into every event's metadata under `key`; `null` removes it. */
  setContext(key: string, value: unknown): void {
    this.guard(() => this.targetScope().setContext(key, value));
  }

  addBreadcrumb(crumb: Omit<Breadcrumb, 'timestamp'> & { timestamp?: string }): void {
    this.guard(() => (scopeStorage().current() ?? processScope).addBreadcrumb({ ...crumb, timestamp: crumb.timestamp ?? new Date().toISOString() }));
  }

  /**
   * Runs `fn` in a new scope forked from the current one: tags, user and context set inside (on the
   * scope given to `fn`, or through `setTag` & co.) apply to events captured inside only. In Node the
   * scope follows `fn`'s async work (AsyncLocalStorage); in browsers it ends when `fn` returns.
   */
  withScope<T>(fn: (scope: Scope) => T): T {
    const storage = scopeStorage();
    let scope: Scope;
    try {
      const parent = storage.current();
      scope = new Scope(parent);
      if (!parent) scope.breadcrumbs = processScope.breadcrumbs.slice();
      scope.maxBreadcrumbs = this.options.maxBreadcrumbs;
    } catch (failure) {
      this.internalError(failure);
      return fn(new Scope());
    }
    return storage.run(scope, () => fn(scope));
  }

  /** Resolves true when everything captured so far was delivered within timeoutMs and nothing was dropped since the last flush. */
  flush(timeoutMs: number = this.options.shutdownTimeoutMs): Promise<boolean> {
    return this.queue.flush(timeoutMs).catch(() => false);
  }

  /** Flushes (up to timeoutMs), then stops sending and removes the hooks. Later captures are dropped. */
  async close(timeoutMs: number = this.options.shutdownTimeoutMs): Promise<boolean> {
    if (this.isClosed) return this.queue.size === 0;
    this.isClosed = true;
    try {
      this.uninstallHandlers();
      if (this.options.consoleBreadcrumbs) restoreConsole();
      if (this.options.fetchBreadcrumbs) restoreFetch();
    } catch (failure) {
      this.internalError(failure);
    }
    return this.queue.close(timeoutMs).catch(() => false);
  }

  /** Events dropped so far, by reason. */
  droppedEvents(): Partial<Record<DropReason, number>> {
    return this.queue.dropped();
  }

  /** Events queued or being sent. */
  pendingCount(): number {
    return this.queue.size;
  }

  /** Sends what is queued right away (the page is being hidden); used by the browser hooks. */
  sendNow(options: SendOptions): void {
    this.guard(() => this.queue.sendNow(options));
  }

  private targetScope(): Scope {
    return scopeStorage().current() ?? this.globalScope;
  }

  private send(parts: Parts): string | undefined {
    const queue = this.queue;
    if (this.isClosed) return queue.countDrop('closed') && undefined;
    const o = this.options;
    if (o.sampleRate < 1 && Math.random() >= o.sampleRate) return queue.countDrop('sample_rate') && undefined;
    const scope = scopeStorage().current();
    const global = this.globalScope;
    const level = parts.level;
    const isError = level === 'error' || level === 'fatal' || parts.exception !== undefined;
    const event: Record<string, unknown> = {
      id: currentPlatform().uuid(),
      type: parts.type ? cleanName(parts.type, MAX_TYPE_CHARS) || (isError ? 'error' : 'message') : isError ? 'error' : 'message',
      level,
    };
    if (parts.message !== undefined && parts.message !== null) {
      const message = String(parts.message);
      event.message = message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS) : message;
    }
    if (parts.exception) event.exception = parts.exception;
    if (parts.stacktrace) event.stacktrace = parts.stacktrace;
    if (o.environment) event.environment = o.environment;
    if (o.release) event.release = o.release;
    const tags = scope ? Object.assign({}, global.tags, scope.tags) : { ...global.tags };
    if (parts.tags) cleanTags(parts.tags, tags);
    for (const _ in tags) {
      event.tags = tags;
      break;
    }
    const user = (parts.user && cleanUser(parts.user)) ?? scope?.user ?? global.user;
    if (user) event.user = user;
    const metadata = this.metadataOf(parts.metadata, scope, isError);
    if (metadata) event.metadata = metadata;
    const fingerprint = cleanFingerprint(parts.fingerprint);
    if (fingerprint) event.fingerprint = fingerprint;
    event.timestamp = cleanTimestamp(parts.timestamp) ?? new Date().toISOString();
    return this.enqueue(event as unknown as WireEvent);
  }

  private metadataOf(callMetadata: Record<string, unknown> | undefined, scope: Scope | undefined, isError: boolean): Record<string, unknown> | undefined {
    const crumbs = isError ? (scope ?? processScope).breadcrumbs : undefined;
    const hasContext = hasKeys(this.globalScope.contexts) || (scope !== undefined && hasKeys(scope.contexts));
    if (!callMetadata && !hasContext && !crumbs?.length) return undefined;
    const merged: Record<string, unknown> = { ...this.globalScope.contexts, ...scope?.contexts };
    if (callMetadata && typeof callMetadata === 'object') Object.assign(merged, callMetadata);
    if (crumbs?.length) merged.breadcrumbs = crumbs.slice(-this.options.maxBreadcrumbs);
    return cleanMetadata(merged);
  }

  private enqueue(built: WireEvent): string | undefined {
    let event = built;
    const beforeSend = this.options.beforeSend;
    if (beforeSend) {
      let changed: WireEvent | null | undefined;
      try {
        changed = beforeSend(event);
      } catch (failure) {
        this.report(`beforeSend threw, the event was dropped (not sent unscrubbed): ${String(failure)}`);
        return this.queue.countDrop('before_send_error') && undefined;
      }
      if (!changed) return this.queue.countDrop('before_send') && undefined;
      event = cleanEvent(changed as unknown as Record<string, unknown>, built.id);
    }
    const json = JSON.stringify(event);
    return this.queue.submit(json, utf8Length(json)) ? event.id : undefined;
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (failure) {
      this.internalError(failure);
    }
  }

  private internalError(failure: unknown): undefined {
    this.queue.countDrop('internal_error');
    this.report(`internal error (the event was dropped): ${failure instanceof Error ? failure.stack ?? failure.message : String(failure)}`);
    return undefined;
  }

  private report(message: string): void {
    try {
      if (this.options.onInternalError) this.options.onInternalError(message);
      else sdkConsole('warn')(`[pulsekit] ${message}`);
    } catch {
      // the host's own reporter failed: nothing left to tell
    }
  }
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}
