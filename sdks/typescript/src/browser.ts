/**
 * Browser hooks: uncaught errors and unhandled rejections from `window`, and a last send with
 * `fetch(…, {keepalive: true})` when the page is hidden (tab switched, closed, navigated away),
 * so events queued just before do not die with the page.
 */
import type { PulseKit } from './client.js';

type Listener = [EventTarget, string, EventListener];

export function installBrowserHandlers(client: PulseKit): () => void {
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') return () => undefined;
  const listeners: Listener[] = [[window, 'pagehide', () => client.sendNow({ keepalive: true })]];
  if (client.options.captureUncaught) {
    listeners.push([window, 'error', ((event: ErrorEvent) => onError(client, event)) as EventListener]);
    listeners.push([window, 'unhandledrejection', ((event: PromiseRejectionEvent) => onRejection(client, event)) as EventListener]);
  }
  if (typeof document !== 'undefined') {
    listeners.push([
      document,
      'visibilitychange',
      () => {
        if (document.visibilityState === 'hidden') client.sendNow({ keepalive: true });
      },
    ]);
  }
  for (const [target, type, listener] of listeners) target.addEventListener(type, listener);
  return () => {
    for (const [target, type, listener] of listeners) target.removeEventListener(type, listener);
  };
}

function onError(client: PulseKit, event: ErrorEvent): void {
  const tags = { mechanism: 'onerror', handled: 'no' };
  if (event.error !== undefined && event.error !== null) {
    client.captureException(event.error, { tags });
    return;
  }
  // A script from another origin without CORS gives only "Script error." and no error object.
  const where = event.filename ? { filename: event.filename, lineno: event.lineno, colno: event.colno } : undefined;
  client.captureException(
    { name: 'Error', message: event.message || 'Script error.', stack: where ? `Error\n    at ${where.filename}:${where.lineno}:${where.colno}` : '' },
    { tags },
  );
}

function onRejection(client: PulseKit, event: PromiseRejectionEvent): void {
  client.captureException(event.reason, { tags: { mechanism: 'onunhandledrejection', handled: 'no' } });
}
