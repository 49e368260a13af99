/**
 * The client's options, checked once at construction: a mistake there throws a
 * PulseKitConfigError that names the option; after construction nothing throws.
 */
import type { Transport } from './transport.js';
import type { Primitive, User, WireEvent } from './types.js';

export interface PulseKitOptions {
  /** `http://pk_…@host:port/[prefix/]PROJECT`: the endpoint and key in one string (instead of endpoint + apiKey). */
  dsn?: string;
  /** Base URL of the PulseKit server, e.g. `https://pulse.example.com`. */
  endpoint?: string;
  /** A key with the `ingest` permission, sent as `X-PulseKit-Key`. */
  apiKey?: string;
  environment?: string;
  release?: string;
  /** Tags on every event of this client. */
  tags?: Record<string, Primitive>;
  /** The user on every event, unless a scope sets another. */
  user?: User;
  /** Fraction of events kept, 0–1 (default 1). */
  sampleRate?: number;
  /** Edit an event before it is queued, or return null to drop it. If it throws, the event is dropped. */
  beforeSend?: (event: WireEvent) => WireEvent | null | undefined;
  /** Replaces the HTTP transport (tests, another protocol, a file). */
  transport?: Transport;
  /** Events waiting to be sent (default 1,000); when full, new events are dropped and counted. */
  maxQueueSize?: number;
  /** Bytes of serialized events waiting to be sent (default 10 MB). */
  maxQueueBytes?: number;
  /** Events per request (default 100, at most 1,000). */
  maxBatchSize?: number;
  /** Longest wait for a batch to fill before it is sent (default 1,000 ms). */
  batchIntervalMs?: number;
  /** Retries of one batch after network errors, 5xx, 429 (default 8); then it is dropped and counted. */
  maxRetries?: number;
  /** Timeout of one request (default 10,000 ms). */
  timeoutMs?: number;
  /** How long flushing at process exit or page hide may take (default 2,000 ms). */
  shutdownTimeoutMs?: number;
  /** Report uncaught errors and unhandled rejections (Node: process events; browser: window events). Default true. */
  captureUncaught?: boolean;
  /** Record console calls and fetch requests as breadcrumbs (default both). */
  breadcrumbs?: boolean | { console?: boolean; fetch?: boolean };
  /** How many breadcrumbs the next error carries (default 30). */
  maxBreadcrumbs?: number;
  /** In Node, give every incoming HTTP request its own scope automatically (default true). */
  isolateRequests?: boolean;
  /** Where the SDK reports its own problems (default: console.warn, once per kind). */
  onInternalError?: (message: string) => void;
}

export class PulseKitConfigError extends Error {
  readonly option: string;
  constructor(option: string, message: string) {
    super(`PulseKit: ${message}`);
    this.name = 'PulseKitConfigError';
    this.option = option;
  }
}

export interface ResolvedOptions {
  endpoint: string;
  apiKey: string;
  environment: string | undefined;
  release: string | undefined;
  tags: Record<string, Primitive>;
  user: User | undefined;
  sampleRate: number;
  beforeSend: PulseKitOptions['beforeSend'];
  transport: Transport | undefined;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxBatchSize: number;
  batchIntervalMs: number;
  maxRetries: number;
  timeoutMs: number;
  shutdownTimeoutMs: number;
  captureUncaught: boolean;
  consoleBreadcrumbs: boolean;
  fetchBreadcrumbs: boolean;
  maxBreadcrumbs: number;
  isolateRequests: boolean;
  onInternalError: ((message: string) => void) | undefined;
}

const KNOWN: readonly string[] = [
  'dsn', 'endpoint', 'apiKey', 'environment', 'release', 'tags', 'user', 'sampleRate', 'beforeSend', 'transport',
  'maxQueueSize', 'maxQueueBytes', 'maxBatchSize', 'batchIntervalMs', 'maxRetries', 'timeoutMs', 'shutdownTimeoutMs',
  'captureUncaught', 'breadcrumbs', 'maxBreadcrumbs', 'isolateRequests', 'onInternalError',
];

export interface ParsedDsn {
  endpoint: string;
  apiKey: string;
  project: string;
}

/** `http://KEY@host:port/[prefix/]PROJECT` → endpoint `http://host:port[/prefix]`, key `KEY`, project `PROJECT`. */
export function parseDsn(dsn: string): ParsedDsn {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new PulseKitConfigError('dsn', `dsn "${dsn}" is not a URL; expected http://pk_…@host:port/PROJECT`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PulseKitConfigError('dsn', `dsn must start with http:// or https://, got "${url.protocol}"`);
  }
  const apiKey = decodeURIComponent(url.username);
  if (!apiKey) throw new PulseKitConfigError('dsn', 'dsn has no key: expected http://pk_…@host:port/PROJECT');
  const parts = url.pathname.split('/').filter(Boolean);
  const project = parts.pop();
  if (!project) throw new PulseKitConfigError('dsn', 'dsn has no project number at the end of its path');
  const prefix = parts.length ? `/${parts.join('/')}` : '';
  return { endpoint: `${url.protocol}//${url.host}${prefix}`, apiKey, project };
}

export function resolveOptions(options: PulseKitOptions | undefined): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new PulseKitConfigError('options', 'pass an options object: new PulseKit({ dsn }) or { endpoint, apiKey }');
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.includes(name)) {
      const hint = closest(name);
      throw new PulseKitConfigError(name, `unknown option "${name}"${hint ? `; did you mean "${hint}"?` : ''}`);
    }
  }
  const { endpoint, apiKey } = resolveTarget(options);
  const breadcrumbs = options.breadcrumbs ?? true;
  if (typeof breadcrumbs !== 'boolean' && (breadcrumbs === null || typeof breadcrumbs !== 'object')) {
    throw new PulseKitConfigError('breadcrumbs', 'breadcrumbs must be true, false or { console, fetch }');
  }
  return {
    endpoint,
    apiKey,
    environment: optionalText(options, 'environment', 64),
    release: optionalText(options, 'release', 200),
    tags: plainObject(options, 'tags') as Record<string, Primitive>,
    user: options.user === undefined ? undefined : (plainObject(options, 'user') as User),
    sampleRate: number(options, 'sampleRate', 1, 0, 1),
    beforeSend: fn(options, 'beforeSend') as PulseKitOptions['beforeSend'],
    transport: transport(options.transport),
    maxQueueSize: integer(options, 'maxQueueSize', 1000, 1, 10_000_000),
    maxQueueBytes: integer(options, 'maxQueueBytes', 10_000_000, 10_000, 1_000_000_000),
    maxBatchSize: integer(options, 'maxBatchSize', 100, 1, 1000),
    batchIntervalMs: number(options, 'batchIntervalMs', 1000, 0, 60_000),
    maxRetries: integer(options, 'maxRetries', 8, 0, 100),
    timeoutMs: number(options, 'timeoutMs', 10_000, 1, 600_000),
    shutdownTimeoutMs: number(options, 'shutdownTimeoutMs', 2000, 0, 600_000),
    captureUncaught: bool(options, 'captureUncaught', true),
    consoleBreadcrumbs: breadcrumbs === true || (typeof breadcrumbs === 'object' && breadcrumbs.console !== false),
    fetchBreadcrumbs: breadcrumbs === true || (typeof breadcrumbs === 'object' && breadcrumbs.fetch !== false),
    maxBreadcrumbs: integer(options, 'maxBreadcrumbs', 30, 0, 100),
    isolateRequests: bool(options, 'isolateRequests', true),
    onInternalError: fn(options, 'onInternalError') as ResolvedOptions['onInternalError'],
  };
}

/** PULSEKIT_DSN, or PULSEKIT_ENDPOINT + PULSEKIT_API_KEY, when the options name no target (Node only). */
function fromEnvironment(options: PulseKitOptions): PulseKitOptions {
  if (options.dsn !== undefined || options.endpoint !== undefined || options.transport !== undefined) return options;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.PULSEKIT_DSN) return { ...options, dsn: env.PULSEKIT_DSN };
  if (env?.PULSEKIT_ENDPOINT) return { ...options, endpoint: env.PULSEKIT_ENDPOINT, apiKey: options.apiKey ?? env.PULSEKIT_API_KEY };
  return options;
}

function resolveTarget(given: PulseKitOptions): { endpoint: string; apiKey: string } {
  const options = fromEnvironment(given);
  if (options.dsn !== undefined) {
    if (typeof options.dsn !== 'string') throw new PulseKitConfigError('dsn', 'dsn must be a string');
    if (options.endpoint !== undefined || options.apiKey !== undefined) {
      throw new PulseKitConfigError('dsn', 'pass either dsn or endpoint + apiKey, not both');
    }
    const parsed = parseDsn(options.dsn);
    return { endpoint: parsed.endpoint, apiKey: parsed.apiKey };
  }
  if (options.endpoint === undefined && options.transport !== undefined) {
    return { endpoint: '', apiKey: typeof options.apiKey === 'string' ? options.apiKey : '' };
  }
  if (typeof options.endpoint !== 'string' || !/^https?:\/\/[^/]/.test(options.endpoint)) {
    throw new PulseKitConfigError('endpoint', 'pass dsn, or endpoint (http:// or https:// URL of the server) and apiKey, or set PULSEKIT_DSN');
  }
  try {
    new URL(options.endpoint);
  } catch {
    throw new PulseKitConfigError('endpoint', `endpoint "${options.endpoint}" is not a valid URL`);
  }
  if (typeof options.apiKey !== 'string' || !options.apiKey.trim()) {
    throw new PulseKitConfigError('apiKey', 'apiKey is required with endpoint (a project key, pk_…)');
  }
  return { endpoint: options.endpoint.replace(/\/+$/, ''), apiKey: options.apiKey.trim() };
}

function optionalText(options: PulseKitOptions, name: 'environment' | 'release', maxChars: number): string | undefined {
  const value = options[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !value || value.length > maxChars) {
    throw new PulseKitConfigError(name, `${name} must be a string of 1–${maxChars} characters`);
  }
  if (name === 'environment' && value.includes('/')) throw new PulseKitConfigError(name, 'environment must not contain "/"');
  return value;
}

function plainObject(options: PulseKitOptions, name: 'tags' | 'user'): object {
  const value = options[name];
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PulseKitConfigError(name, `${name} must be an object`);
  }
  return value;
}

function number(options: PulseKitOptions, name: keyof PulseKitOptions, fallback: number, min: number, max: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new PulseKitConfigError(name, `${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function integer(options: PulseKitOptions, name: keyof PulseKitOptions, fallback: number, min: number, max: number): number {
  const value = number(options, name, fallback, min, max);
  if (!Number.isInteger(value)) throw new PulseKitConfigError(name, `${name} must be a whole number, got ${value}`);
  return value;
}

function bool(options: PulseKitOptions, name: keyof PulseKitOptions, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new PulseKitConfigError(name, `${name} must be true or false`);
  return value;
}

function fn(options: PulseKitOptions, name: keyof PulseKitOptions): unknown {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new PulseKitConfigError(name, `${name} must be a function`);
  return value;
}

function transport(value: unknown): Transport | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof (value as Transport).send !== 'function') {
    throw new PulseKitConfigError('transport', 'transport must be an object with a send(batch) method');
  }
  return value as Transport;
}

function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of KNOWN) {
    const distance = editDistance(name.toLowerCase(), known.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [known, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}
