/**
 * Delivery of a batch: the Transport interface and its fetch implementation.
 *
 * A transport only sends. It tells the queue what to do next by throwing RetryLater (send the
 * same batch again, perhaps after a delay the server asked for), BatchRejected (never retry) or
 * Unauthorized (stop sending); retries, backoff and drop counts live in queue.ts.
 */
import type { WireEvent } from './types.js';
import { originalFetch } from './breadcrumbs.js';

export const BATCH_PATH = '/api/v1/events/batch';
export const MAX_RETRY_AFTER_MS = 60_000; // a server asking for longer is waited for this long, then asked again
export const KEEPALIVE_MAX_BYTES = 60_000; // browsers refuse keepalive bodies over 64 KiB in flight
const SDK_NAME = 'pulsekit-typescript';
export const SDK_VERSION = '0.1.0';

/** One request's worth of events. `body` is the JSON the HTTP transport sends: `{"events": [...]}`. */
export class Batch {
  readonly body: string;
  readonly count: number;
  private readonly serialized: readonly string[];
  private parsed: WireEvent[] | undefined;

  constructor(serialized: readonly string[]) {
    this.serialized = serialized;
    this.count = serialized.length;
    this.body = `{"events":[${serialized.join(',')}]}`;
  }

  /** The events as objects (parsed on first use: the HTTP transport never needs them). */
  get events(): WireEvent[] {
    this.parsed ??= this.serialized.map((json) => JSON.parse(json) as WireEvent);
    return this.parsed;
  }
}

export interface SendOptions {
  /** The page is going away: send with `fetch(…, {keepalive: true})` so the request outlives it. */
  keepalive?: boolean;
}

/** What delivers batches. Implement `send` to write events anywhere else (a file, a queue, a test). */
export interface Transport {
  send(batch: Batch, options?: SendOptions): Promise<void>;
  close?(): void | Promise<void>;
}

/** The batch could not be delivered now; the same batch (same ids) is sent again later. */
export class RetryLater extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(reason: string, retryAfterMs?: number) {
    super(reason);
    this.name = 'RetryLater';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The server refused the batch (a 4xx other than 401/403/429): sending it again cannot help. */
export class BatchRejected extends Error {
  readonly status: number;
  readonly code: string;
  constructor(reason: string, status = 0, code = '') {
    super(reason);
    this.name = 'BatchRejected';
    this.status = status;
    this.code = code;
  }
}

/** The key is unknown, revoked, or lacks `ingest` (401/403): nothing more is sent. */
export class Unauthorized extends BatchRejected {
  constructor(reason: string, status: number, code = '') {
    super(reason, status, code);
    this.name = 'Unauthorized';
  }
}

export interface FetchTransportOptions {
  endpoint: string;
  apiKey: string;
  timeoutMs?: number;
  /** gzip the body when CompressionStream exists (default true). */
  compress?: boolean;
}

/** POSTs batches to `{endpoint}/api/v1/events/batch` with global `fetch`, gzip-compressed where it can. */
export class FetchTransport implements Transport {
  private readonly url: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly compress: boolean;

  constructor(options: FetchTransportOptions) {
    this.url = options.endpoint.replace(/\/+$/, '') + BATCH_PATH;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.compress = options.compress ?? true;
  }

  async send(batch: Batch, options: SendOptions = {}): Promise<void> {
    const fetchFn = originalFetch();
    if (!fetchFn) throw new BatchRejected('no global fetch in this runtime: pass a transport');
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-PulseKit-Key': this.apiKey };
    let body: BodyInit = batch.body;
    // A page being hidden may be gone after this task: fetch must be called now, not after an async gzip.
    if (this.compress && !options.keepalive && typeof CompressionStream !== 'undefined') {
      try {
        body = await gzip(batch.body);
        headers['Content-Encoding'] = 'gzip';
      } catch {
        body = batch.body; // a runtime whose CompressionStream fails: plain JSON is accepted too
      }
    }
    if (typeof window === 'undefined') headers['User-Agent'] = `${SDK_NAME}/${SDK_VERSION}`;
    const keepalive = options.keepalive === true && byteSize(body) <= KEEPALIVE_MAX_BYTES;
    const controller = typeof AbortController !== 'undefined' ? new AbortController() : undefined;
    const timer = controller ? setTimeout(() => controller.abort(), this.timeoutMs) : undefined;
    unrefTimer(timer);
    let response: Response;
    try {
      response = await fetchFn(this.url, {
        method: 'POST',
        headers,
        body,
        keepalive,
        redirect: 'error',
        credentials: 'omit',
        ...(controller ? { signal: controller.signal } : {}),
      });
    } catch (error) {
      throw new RetryLater(`network error: ${String(error)}`);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    await classify(response);
  }
}

async function classify(response: Response): Promise<void> {
  const status = response.status;
  if (status >= 200 && status < 300) {
    await response.arrayBuffer().catch(() => undefined); // read to the end: the connection is reused
    return;
  }
  const text = await response.text().catch(() => '');
  if (status === 429 || status === 503) {
    throw new RetryLater(`server busy (${status})`, parseRetryAfter(response.headers.get('Retry-After')));
  }
  if (status >= 500 || status === 408) throw new RetryLater(`server error (${status})`);
  const [code, message] = errorOf(text);
  const reason = `server refused the batch (${status} ${code}): ${message}`;
  if (status === 401 || status === 403) throw new Unauthorized(reason, status, code);
  throw new BatchRejected(reason, status, code);
}

/** Milliseconds to wait from a Retry-After header (seconds or an HTTP date), capped at a minute. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const when = Date.parse(trimmed);
    if (Number.isNaN(when)) return undefined;
    ms = when - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function errorOf(text: string): [string, string] {
  try {
    const error = (JSON.parse(text) as { error: { code?: string; message?: string; field?: string } }).error;
    const field = error.field ? ` (field ${error.field})` : '';
    return [String(error.code ?? ''), `${error.message ?? ''}${field}`];
  } catch {
    return ['', text.slice(0, 500)];
  }
}

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function byteSize(body: BodyInit): number {
  if (typeof body === 'string') return body.length <= KEEPALIVE_MAX_BYTES / 3 ? body.length : new TextEncoder().encode(body).byteLength;
  return (body as Uint8Array).byteLength ?? Infinity;
}

export function unrefTimer(timer: unknown): void {
  // Node: a pending retry or batch timer must not keep a finished script alive (flush() does that).
  (timer as { unref?: () => void } | undefined)?.unref?.();
}
