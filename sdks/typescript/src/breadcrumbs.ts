/**
 * Breadcrumbs: the last console calls and fetch requests before an error.
 *
 * console and fetch are wrapped once per process, while at least one client wants them; the
 * wrappers record into the current scope (so a request's crumbs stay with that request) and
 * never change what the wrapped function does or returns. The SDK's own requests use the
 * original fetch and leave no crumb.
 */
import { processScope, scopeStorage } from './scope.js';
import type { Breadcrumb, Level } from './types.js';

const CONSOLE_LEVELS: Record<string, Level> = { debug: 'debug', log: 'info', info: 'info', warn: 'warning', error: 'error' };
const MAX_CRUMB_MESSAGE_CHARS = 500;

type ConsoleMethod = (...args: unknown[]) => void;
const savedConsole: Record<string, ConsoleMethod> = {};
const installedConsole: Record<string, ConsoleMethod> = {};
let savedFetch: typeof fetch | undefined;
let installedFetch: typeof fetch | undefined;
let consoleUsers = 0;
let fetchUsers = 0;

export function addBreadcrumb(crumb: Breadcrumb): void {
  (scopeStorage().current() ?? processScope).addBreadcrumb(crumb);
}

/** The fetch the SDK itself sends with: never the instrumented one. */
export function originalFetch(): typeof fetch | undefined {
  return savedFetch ?? (typeof fetch === 'function' ? fetch : undefined);
}

/** The console as it was before the SDK wrapped it: the SDK's own warnings leave no crumb. */
export function sdkConsole(method: 'warn' | 'error'): ConsoleMethod {
  return savedConsole[method] ?? ((...args: unknown[]) => console[method](...args));
}

export function instrumentConsole(): void {
  if (consoleUsers++ > 0 || typeof console === 'undefined') return;
  for (const method of Object.keys(CONSOLE_LEVELS)) {
    const original = (console as unknown as Record<string, ConsoleMethod>)[method];
    if (typeof original !== 'function') continue;
    savedConsole[method] = original;
    const wrapped: ConsoleMethod = function (this: unknown, ...args: unknown[]) {
      try {
        addBreadcrumb({
          timestamp: new Date().toISOString(),
          category: 'console',
          level: CONSOLE_LEVELS[method] ?? 'info',
          message: formatArgs(args),
        });
      } catch {
        // a crumb is never worth breaking the host's logging
      }
      return original.apply(this, args);
    };
    installedConsole[method] = wrapped;
    (console as unknown as Record<string, ConsoleMethod>)[method] = wrapped;
  }
}

export function restoreConsole(): void {
  if (consoleUsers === 0 || --consoleUsers > 0) return;
  for (const method of Object.keys(savedConsole)) {
    const target = console as unknown as Record<string, ConsoleMethod>;
    // Someone wrapped console after us: leave their wrapper (and ours under it) in place.
    if (target[method] === installedConsole[method]) target[method] = savedConsole[method] as ConsoleMethod;
    delete savedConsole[method];
    delete installedConsole[method];
  }
}

export function instrumentFetch(): void {
  if (fetchUsers++ > 0 || typeof fetch !== 'function') return;
  const original = fetch;
  savedFetch = original;
  const wrapped = async function (this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = input instanceof Request ? input.url : String(input);
    try {
      const response = await original.call(this, input, init);
      record({ method, url, status_code: response.status }, response.status >= 500 ? 'error' : response.status >= 400 ? 'warning' : 'info');
      return response;
    } catch (error) {
      record({ method, url, error: String(error) }, 'error');
      throw error;
    }
  };
  installedFetch = wrapped as typeof fetch;
  globalThis.fetch = installedFetch;
}

export function restoreFetch(): void {
  if (fetchUsers === 0 || --fetchUsers > 0) return;
  if (savedFetch && globalThis.fetch === installedFetch) globalThis.fetch = savedFetch;
  savedFetch = undefined;
  installedFetch = undefined;
}

function record(data: Record<string, unknown>, level: Level): void {
  try {
    addBreadcrumb({ timestamp: new Date().toISOString(), category: 'fetch', level, data: { ...data, url: stripSecrets(String(data.url)) } });
  } catch {
    // never break the host's request
  }
}

/** Query strings often carry tokens: crumbs keep the URL without them. */
function stripSecrets(url: string): string {
  const cut = url.search(/[?#]/);
  return (cut >= 0 ? url.slice(0, cut) : url).slice(0, 1024);
}

function formatArgs(args: unknown[]): string {
  const parts: string[] = [];
  let length = 0;
  for (const arg of args) {
    const text = formatArg(arg);
    parts.push(text);
    length += text.length + 1;
    if (length > MAX_CRUMB_MESSAGE_CHARS) break;
  }
  return parts.join(' ').slice(0, MAX_CRUMB_MESSAGE_CHARS);
}

function formatArg(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
  if (arg === null || typeof arg !== 'object') return String(arg);
  try {
    return JSON.stringify(arg)?.slice(0, MAX_CRUMB_MESSAGE_CHARS) ?? String(arg);
  } catch {
    return Object.prototype.toString.call(arg);
  }
}
