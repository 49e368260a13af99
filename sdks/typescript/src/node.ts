/**
 * The Node entry point: everything index.ts exports, plus what only Node has.
 *
 * - Scopes follow async work through AsyncLocalStorage, so tags and user set while handling one
 *   request never appear on another's events, however their awaits interleave.
 * - Each incoming HTTP request (node:http, and so Express, Fastify, Next's Node server…) gets its
 *   own scope automatically, through the `http.server.request.start` diagnostics channel.
 * - `uncaughtException` and `unhandledRejection` are captured and flushed, then the process does
 *   what it would have done without the SDK (print the error and exit with code 1), unless the
 *   application has listeners of its own, which then decide.
 * - What is still queued when the event loop empties is flushed before the process exits.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { PulseKit } from './client.js';
import { setPlatform } from './platform.js';
import { Scope, setScopeStorage, type ScopeStorage } from './scope.js';

export * from './index.js';

const als = new AsyncLocalStorage<Scope>();
const alsStorage: ScopeStorage = {
  current: () => als.getStore(),
  run: (scope, fn) => als.run(scope, fn),
  enter: (scope) => als.enterWith(scope),
};
setScopeStorage(alsStorage);

const isolatingClients = new Set<PulseKit>();
let isSubscribed = false;

function onRequestStart(): void {
  if (isolatingClients.size === 0) return;
  // Runs synchronously just before the server emits 'request': the handler and all it awaits start in this scope.
  alsStorage.enter?.(new Scope());
}

function isolateRequests(client: PulseKit): () => void {
  isolatingClients.add(client);
  if (!isSubscribed && typeof diagnosticsChannel.subscribe === 'function') {
    diagnosticsChannel.subscribe('http.server.request.start', onRequestStart);
    isSubscribed = true;
  }
  return () => {
    isolatingClients.delete(client);
    if (isolatingClients.size === 0 && isSubscribed) {
      diagnosticsChannel.unsubscribe('http.server.request.start', onRequestStart);
      isSubscribed = false;
    }
  };
}

function rejectionMode(): string {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const flag = flags.find((arg) => arg.startsWith('--unhandled-rejections='));
  return flag ? flag.split('=')[1] ?? 'throw' : 'throw';
}

// One listener per process event, shared by every client that captures uncaught errors: with
// several clients, each reports, and the process still ends once, as it would without the SDK.
const capturingClients = new Set<PulseKit>();

function flushAll(): Promise<unknown> {
  return Promise.all([...capturingClients].map((client) => client.flush(client.options.shutdownTimeoutMs)));
}

function onException(error: unknown, origin: string): void {
  for (const client of capturingClients) {
    client.captureException(error, { level: 'fatal', tags: { mechanism: origin || 'uncaughtException', handled: 'no' } });
  }
  if (process.listenerCount('uncaughtException') > 1) return; // the application handles it and decides
  void flushAll().finally(() => {
    detachProcessListeners();
    // Thrown again with no listener left, Node prints it and exits with code 1, as without the SDK.
    process.nextTick(() => {
      throw error;
    });
  });
}

function onRejection(reason: unknown): void {
  for (const client of capturingClients) {
    client.captureException(reason, { tags: { mechanism: 'unhandledRejection', handled: 'no' } });
  }
  if (process.listenerCount('unhandledRejection') > 1) return;
  const mode = rejectionMode();
  if (mode === 'warn' || mode === 'none') return;
  if (mode === 'warn-with-error-code') {
    process.exitCode = 1;
    return;
  }
  void flushAll().finally(() => {
    detachProcessListeners();
    // Rejected again with no listener left: Node's own handling (print, exit code 1) takes over.
    void Promise.reject(reason);
  });
}

function attachProcessListeners(): void {
  if (process.listeners('uncaughtException').includes(onException)) return;
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
}

function detachProcessListeners(): void {
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
}

function installNodeHandlers(client: PulseKit): () => void {
  const stopIsolation = client.options.isolateRequests ? isolateRequests(client) : () => undefined;
  let hasGivenUpAtExit = false;
  const onBeforeExit = (): void => {
    // The loop is empty, so nothing else will send what is queued; flushing keeps the process alive until done.
    if (hasGivenUpAtExit || client.pendingCount() === 0) return;
    void client.flush(client.options.shutdownTimeoutMs).then((isDone) => {
      if (!isDone) hasGivenUpAtExit = true;
    });
  };
  if (client.options.captureUncaught) {
    capturingClients.add(client);
    attachProcessListeners();
  }
  process.on('beforeExit', onBeforeExit);
  return () => {
    process.off('beforeExit', onBeforeExit);
    capturingClients.delete(client);
    if (capturingClients.size === 0) detachProcessListeners();
    stopIsolation();
  };
}

setPlatform({ installHandlers: installNodeHandlers, uuid: randomUUID });
