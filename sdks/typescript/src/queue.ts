/**
 * The bounded queue and its sender: events wait here (bounded in count and in bytes), leave in
 * batches, and are retried with backoff and jitter, or after the delay a 429/503 asked for.
 *
 * One batch is in flight at a time, so events arrive in the order they were captured and a
 * saturated server sees one request per client, not a stampede. Retries resend the same events,
 * with the same ids: the server stores each id once.
 */
import type { DropReason } from './types.js';
import { Batch, BatchRejected, RetryLater, Unauthorized, unrefTimer, type SendOptions, type Transport } from './transport.js';

export const MAX_BODY_BYTES = 4_500_000; // the server accepts 5,000,000 decompressed bytes; keep a margin
export const MAX_EVENT_BYTES = 1_000_000;
const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
// Drops a caller asked for are not failures: flush() still reports success after them.
const INTENDED_DROPS: ReadonlySet<DropReason> = new Set(['sample_rate', 'before_send']);

export interface QueueOptions {
  transport: Transport;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxBatchSize: number;
  batchIntervalMs: number;
  maxRetries: number;
  report: (message: string) => void;
  random?: () => number;
}

interface Pending {
  json: string;
  bytes: number;
}

/** Delay before retry number attempt + 1: doubling from 0.5 s up to 30 s, scaled by 50–100 % ("equal jitter"). */
export function backoffDelay(attempt: number, jitter: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.min(attempt, 32));
  return ceiling / 2 + (ceiling / 2) * jitter;
}

export class EventQueue {
  private readonly options: QueueOptions;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  private isSending = false;
  private isStopped = false;
  private stopReason: DropReason = 'closed';
  private flushers = 0;
  private batchTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeRetry: (() => void) | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly drops: Partial<Record<DropReason, number>> = {};
  private failuresSeenByFlush = 0;
  private readonly reported = new Set<string>();
  private keepalive = false;

  constructor(options: QueueOptions) {
    this.options = options;
  }

  /** Queues one serialized event; false (and counted) when it cannot be kept. Never does I/O. */
  submit(json: string, bytes: number): boolean {
    if (this.isStopped) return this.countDrop(this.stopReason) && false;
    if (bytes > MAX_EVENT_BYTES) return this.countDrop('too_large') && false;
    // Dropping the newest keeps the oldest, which are closest to the first failure.
    if (this.pending.length >= this.options.maxQueueSize) return this.countDrop('queue_full') && false;
    if (this.pendingBytes + bytes > this.options.maxQueueBytes) return this.countDrop('queue_bytes') && false;
    this.pending.push({ json, bytes });
    this.pendingBytes += bytes;
    this.schedule();
    return true;
  }

  countDrop(reason: DropReason, count = 1): true {
    this.drops[reason] = (this.drops[reason] ?? 0) + count;
    return true;
  }

  dropped(): Partial<Record<DropReason, number>> {
    return { ...this.drops };
  }

  get size(): number {
    return this.pending.length + this.inFlight;
  }

  /** Sends everything queued now; true when all of it was delivered within timeoutMs and nothing was dropped since the last flush. */
  async flush(timeoutMs: number): Promise<boolean> {
    this.flushers++;
    this.schedule();
    try {
      const isEmpty = await this.waitUntilEmpty(timeoutMs);
      const failures = this.failureCount();
      const isClean = failures === this.failuresSeenByFlush;
      this.failuresSeenByFlush = failures;
      return isEmpty && isClean;
    } finally {
      this.flushers--;
    }
  }

  /** The page is being hidden: send what is queued now, with keepalive, without waiting for a batch to fill. */
  sendNow(options: SendOptions): void {
    this.keepalive = options.keepalive === true;
    this.flushers++;
    this.schedule();
    void this.waitUntilEmpty(10_000).finally(() => {
      this.flushers--;
      this.keepalive = false;
    });
  }

  /** Flushes for up to timeoutMs, then stops; what is still queued is dropped and counted. */
  async close(timeoutMs: number): Promise<boolean> {
    const isFlushed = this.isStopped ? this.size === 0 : await this.flush(timeoutMs);
    this.isStopped = true;
    if (this.pending.length) this.countDrop('closed', this.pending.length);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.batchTimer !== undefined) clearTimeout(this.batchTimer);
    this.wakeRetry?.();
    this.notify();
    try {
      await this.options.transport.close?.();
    } catch (error) {
      this.reportOnce('close', `transport.close() failed: ${String(error)}`);
    }
    return isFlushed;
  }

  private failureCount(): number {
    let total = 0;
    for (const [reason, count] of Object.entries(this.drops)) if (!INTENDED_DROPS.has(reason as DropReason)) total += count ?? 0;
    return total;
  }

  private schedule(): void {
    if (this.isSending || this.isStopped || this.pending.length === 0) return;
    if (this.flushers > 0 || this.pending.length >= this.options.maxBatchSize) {
      if (this.batchTimer !== undefined) clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
      this.isSending = true;
      // Never inside the caller's capture(): the batch is built and sent on a later tick.
      queueMicrotask(() => void this.pump());
      return;
    }
    if (this.batchTimer === undefined) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = undefined;
        if (this.isSending || this.isStopped || this.pending.length === 0) return;
        this.isSending = true;
        void this.pump();
      }, this.options.batchIntervalMs);
      unrefTimer(this.batchTimer);
    }
  }

  private async pump(): Promise<void> {
    try {
      while (!this.isStopped && this.pending.length > 0) {
        const taken = this.takeBatch();
        this.inFlight = taken.length;
        await this.deliver(new Batch(taken.map((item) => item.json)));
        this.inFlight = 0;
        this.notify();
        // Without a flush waiting, a partial batch waits for the interval like the first one did.
        if (this.flushers === 0 && this.pending.length < this.options.maxBatchSize) break;
      }
    } catch (error) {
      this.reportOnce('internal', `internal error in the sender: ${String(error)}`);
    } finally {
      this.inFlight = 0;
      this.isSending = false;
      this.notify();
      this.schedule();
    }
  }

  private takeBatch(): Pending[] {
    let count = 0;
    let bytes = 11; // {"events":[]}
    while (count < this.pending.length && count < this.options.maxBatchSize) {
      const next = (this.pending[count] as Pending).bytes + 1;
      if (count > 0 && bytes + next > MAX_BODY_BYTES) break;
      bytes += next;
      count++;
    }
    const taken = this.pending.splice(0, count);
    for (const item of taken) this.pendingBytes -= item.bytes;
    return taken;
  }

  private async deliver(batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.transport.send(batch, { keepalive: this.keepalive });
        return;
      } catch (error) {
        if (error instanceof Unauthorized) {
          this.stopForGood(batch, error);
          return;
        }
        if (error instanceof BatchRejected) {
          this.countDrop('rejected', batch.count);
          this.reportOnce(`rejected:${error.status}:${error.code}`, `${error.message}; such batches are dropped, not retried`);
          return;
        }
        if (!(error instanceof RetryLater)) {
          // A custom transport failed in a way it did not classify: retrying blindly could loop.
          this.countDrop('transport_error', batch.count);
          this.reportOnce('transport', `transport.send() failed, ${batch.count} events dropped: ${String(error)}`);
          return;
        }
        if (attempt >= this.options.maxRetries || this.isStopped) {
          this.countDrop(this.isStopped ? 'closed' : 'retries_exhausted', batch.count);
          this.reportOnce('retries', `gave up sending ${batch.count} events after ${attempt + 1} attempts: ${error.message}`);
          return;
        }
        const random = this.options.random ?? Math.random;
        await this.sleep(error.retryAfterMs ?? backoffDelay(attempt, random()));
        if (this.isStopped) {
          this.countDrop('closed', batch.count); // close() ended the wait: what it could not flush is dropped
          return;
        }
      }
    }
  }

  private stopForGood(batch: Batch, error: Unauthorized): void {
    this.isStopped = true;
    this.stopReason = 'unauthorized';
    this.countDrop('unauthorized', batch.count + this.pending.length);
    this.pending = [];
    this.pendingBytes = 0;
    this.reportOnce('unauthorized', `${error.message}; the SDK stops sending (check the key and its "ingest" permission)`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      unrefTimer(timer);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wakeRetry === done) self.wakeRetry = undefined;
        resolve();
      }
      this.wakeRetry = done; // close() ends the wait at once
    });
  }

  private waitUntilEmpty(timeoutMs: number): Promise<boolean> {
    if (this.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      // A referenced timer: an awaited flush keeps a Node process alive until it is done or out of time.
      const deadline = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      const check = (): void => {
        if (this.size === 0 || (this.isStopped && !this.isSending)) finish(this.size === 0);
      };
      const finish = (isEmpty: boolean): void => {
        clearTimeout(deadline);
        this.waiters.delete(check);
        resolve(isEmpty);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private reportOnce(kind: string, message: string): void {
    // Once per kind: the same mistake in every event must not flood the host's log.
    if (this.reported.has(kind)) return;
    this.reported.add(kind);
    this.options.report(message);
  }
}
