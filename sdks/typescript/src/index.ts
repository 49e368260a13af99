/**
 * @pulsekit/sdk: errors and custom events from JavaScript to a PulseKit server.
 *
 * `new PulseKit(options)` makes a client; `init(options)` makes the default one that the
 * module-level functions (`captureException`, `setTag`, …) use. This entry serves browsers,
 * bundlers and non-Node runtimes; Node resolves to node.ts, which adds its hooks first.
 */
import { installBrowserHandlers } from './browser.js';
import { PulseKit } from './client.js';
import type { PulseKitOptions } from './options.js';
import { setPlatform, webUuid } from './platform.js';
import { Scope } from './scope.js';
import type { Breadcrumb, CaptureHint, DropReason, EventInput, Level, Primitive, User } from './types.js';

export { PulseKit } from './client.js';
export { PulseKitConfigError, parseDsn, type ParsedDsn, type PulseKitOptions } from './options.js';
export { Scope } from './scope.js';
export { parseStack } from './stacktrace.js';
export { Batch, BatchRejected, FetchTransport, RetryLater, Unauthorized, type SendOptions, type Transport } from './transport.js';
export type {
  Breadcrumb,
  CaptureHint,
  ChainedException,
  DropReason,
  EventInput,
  ExceptionInfo,
  Frame,
  Level,
  Primitive,
  Stacktrace,
  User,
  WireEvent,
} from './types.js';

// node.ts replaces this right after, in Node.
setPlatform({ installHandlers: installBrowserHandlers, uuid: webUuid });

let defaultClient: PulseKit | undefined;

/** Creates the default client (closing the previous one) and returns it. Throws PulseKitConfigError on bad options. */
export function init(options: PulseKitOptions): PulseKit {
  const client = new PulseKit(options);
  const previous = defaultClient;
  defaultClient = client;
  if (previous) void previous.close();
  return client;
}

/** The default client, if `init` was called. */
export function getClient(): PulseKit | undefined {
  return defaultClient;
}

export function captureException(error: unknown, hint?: CaptureHint): string | undefined {
  return defaultClient?.captureException(error, hint);
}

export function capture(event: EventInput): string | undefined {
  return defaultClient?.capture(event);
}

export function captureMessage(message: string, levelOrHint?: Level | string | CaptureHint): string | undefined {
  return defaultClient?.captureMessage(message, levelOrHint);
}

export function setTag(key: string, value: Primitive): void {
  defaultClient?.setTag(key, value);
}

export function setTags(tags: Record<string, Primitive>): void {
  defaultClient?.setTags(tags);
}

export function setUser(user: User | null): void {
  defaultClient?.setUser(user);
}

export function setContext(key: string, value: unknown): void {
  defaultClient?.setContext(key, value);
}

export function addBreadcrumb(crumb: Omit<Breadcrumb, 'timestamp'> & { timestamp?: string }): void {
  defaultClient?.addBreadcrumb(crumb);
}

/** Runs `fn` in a new scope of the default client (or just runs it before `init`). */
export function withScope<T>(fn: (scope: Scope) => T): T {
  if (defaultClient) return defaultClient.withScope(fn);
  return fn(new Scope());
}

export function flush(timeoutMs?: number): Promise<boolean> {
  return defaultClient ? defaultClient.flush(timeoutMs) : Promise.resolve(true);
}

/** Closes the default client; module-level captures are dropped until the next `init`. */
export function close(timeoutMs?: number): Promise<boolean> {
  const client = defaultClient;
  defaultClient = undefined;
  return client ? client.close(timeoutMs) : Promise.resolve(true);
}

export function droppedEvents(): Partial<Record<DropReason, number>> {
  return defaultClient?.droppedEvents() ?? {};
}

