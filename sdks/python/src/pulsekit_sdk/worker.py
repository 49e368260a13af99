"""The background worker: a bounded queue drained in batches, with retries, backoff and drop counts."""

from __future__ import annotations

import collections
import functools
import logging
import os
import random
import threading
import time
import weakref
from typing import Callable

from .transport import BatchRejected, RetryLater, Transport, Unauthorized, encode_event

logger = logging.getLogger('pulsekit_sdk')

# Drops the user asked for: they do not make flush() report a loss.
CHOSEN_DROPS = frozenset({'sample_rate', 'before_send', 'ignore_errors', 'duplicate'})

INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0


def backoff_delay(attempt: int, jitter: float) -> float:
    """Delay before retry number attempt + 1: doubling from 0.5 s up to 30 s, scaled by 50–100 %.

    Keeping at least half the delay ("equal jitter") spreads clients that failed together without
    letting any of them retry at once.
    """
    ceiling = min(MAX_BACKOFF_S, INITIAL_BACKOFF_S * 2 ** min(attempt, 32))
    return ceiling / 2 + ceiling / 2 * jitter


def _restart_after_fork(worker_ref: weakref.ref) -> None:
    worker = worker_ref()
    if worker is not None:
        worker.restart_after_fork()


class Worker:
    """Owns one daemon thread that sends queued events through a transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        max_queue_size: int = 1000,
        max_queue_bytes: int = 4_000_000,
        max_batch_size: int = 100,
        batch_interval_s: float = 1.0,
        max_retries: int = 8,
        sleep: Callable[[float], object] | None = None,
        jitter: Callable[[], float] = random.random,
        describe_key: str = '',
    ):
        self._transport = transport
        self._max_queue_size = max_queue_size
        self._max_queue_bytes = max_queue_bytes
        self._sends_encoded = callable(getattr(transport, 'send_encoded', None))
        self._describe_key = describe_key
        self._max_batch_size = max_batch_size
        self._batch_interval_s = batch_interval_s
        self._max_retries = max_retries
        self._jitter = jitter
        self._injected_sleep = sleep
        self._drops: collections.Counter = collections.Counter()
        self._losses_since_flush = 0
        self._reported_rejections: set = set()
        self._refused: str | None = None  # set on 401/403: the key will not work until init() again
        self._is_in_outage = False  # a batch was given up and none delivered since: log the next quietly
        self._start()
        if hasattr(os, 'register_at_fork'):
            # A forked child (gunicorn --preload, multiprocessing) has no worker thread: start its own.
            os.register_at_fork(after_in_child=functools.partial(_restart_after_fork, weakref.ref(self)))

    def _start(self) -> None:
        self._cond = threading.Condition()
        self._pending: collections.deque = collections.deque()
        self._pending_bytes = 0
        self._bytes_refused_at = float('inf')  # queue size at the last refusal for lack of bytes
        self._in_flight = 0
        self._flush_waiters = 0  # while > 0, batches leave without waiting to fill up
        self._stopping = threading.Event()
        # By default a backoff wait ends early when the client closes.
        self._sleep = self._injected_sleep or self._stopping.wait
        self._thread = threading.Thread(target=self._run, name='pulsekit-sdk-worker', daemon=True)
        self._thread.start()

    def restart_after_fork(self) -> None:
        """In a forked child: fresh locks (the parent's threads may have held them) and a new thread.

        The queue starts empty: the parent still sends what it had queued.
        """
        if not self._stopping.is_set():
            self._start()

    def submit(self, event: dict) -> bool:
        """Queue one event; False (and counted) when the queue is full or the worker is closed.

        The event is encoded here, in the caller: its size bounds the queue, and the worker thread
        then never holds the GIL for long encoding a whole batch while the app's threads wait.
        """
        encoded = encode_event(event)
        item = (encoded, None if self._sends_encoded else event)
        with self._cond:
            if self._stopping.is_set():
                self._count_drop_locked('closed')
                return False
            if self._refused is not None:
                self._count_drop_locked('unauthorized')
                return False
            if len(self._pending) >= self._max_queue_size:
                # Dropping the newest keeps the oldest, which are closest to the first failure.
                self._count_drop_locked('queue_full')
                return False
            if self._pending_bytes + len(encoded) > self._max_queue_bytes:
                self._count_drop_locked('queue_bytes_full')
                self._bytes_refused_at = self._pending_bytes
                return False
            self._pending.append(item)
            self._pending_bytes += len(encoded)
            if len(self._pending) == 1 or len(self._pending) >= self._max_batch_size:
                self._cond.notify_all()
        return True

    def full_reason(self) -> str | None:
        """Why a new event would be dropped right now (full queue, refused key, closed), or None.

        Checked before an event is built, so an app capturing during an outage does not pay for
        stack walks and encoding of events that cannot be queued. Read without the lock: a stale
        answer only means the event is built and then dropped by submit().
        """
        if self._stopping.is_set():
            return 'closed'
        if self._refused is not None:
            return 'unauthorized'
        if len(self._pending) >= self._max_queue_size:
            return 'queue_full'
        # After an event did not fit, the next is assumed not to fit either until the queue shrinks.
        if self._pending_bytes >= min(self._max_queue_bytes, self._bytes_refused_at):
            return 'queue_bytes_full'
        return None

    def count_drop(self, reason: str, count: int = 1) -> None:
        with self._cond:
            self._count_drop_locked(reason, count)

    def _count_drop_locked(self, reason: str, count: int = 1) -> None:
        self._drops[reason] += count
        if reason not in CHOSEN_DROPS:
            self._losses_since_flush += count

    def dropped(self) -> dict:
        """Events dropped so far, by reason."""
        with self._cond:
            return dict(self._drops)

    def flush(self, timeout_s: float) -> bool:
        """Send everything queued now; True when all of it was delivered within timeout_s.

        False when the time ran out, or when any event was lost (full queue, refused, given up
        after retries, …) since the previous flush: dropped_events() says which.
        """
        if threading.current_thread() is self._thread:
            return False  # a transport that captures would otherwise wait for itself
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                while self._pending or self._in_flight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._thread.is_alive():
                        return False
                    self._cond.wait(remaining)
                is_lossless = self._losses_since_flush == 0
                self._losses_since_flush = 0
                return is_lossless
            finally:
                self._flush_waiters -= 1

    def close(self, timeout_s: float) -> bool:
        """Flush for up to timeout_s, then stop; what is still queued is dropped and counted."""
        is_flushed = self.flush(timeout_s)
        with self._cond:
            self._stopping.set()
            if self._pending:
                self._count_drop_locked('shutdown', len(self._pending))
                self._pending.clear()
                self._pending_bytes = 0
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            # A request in progress is not waited for: its own timeout ends it.
            self._thread.join(timeout=0.5)
        try:
            self._transport.close()
        except Exception:
            logger.exception('pulsekit: transport.close() failed')
        self._report_losses()
        return is_flushed

    def _report_losses(self) -> None:
        with self._cond:
            lost = {reason: count for reason, count in self._drops.items() if reason not in CHOSEN_DROPS}
        if lost:
            summary = ', '.join(f'{count} {reason}' for reason, count in sorted(lost.items()))
            logger.warning('pulsekit: %d events were not delivered (%s)', sum(lost.values()), summary)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._deliver(batch)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _next_batch(self) -> list | None:
        with self._cond:
            while not self._pending:
                if self._stopping.is_set():
                    return None
                self._cond.wait()
            fill_until = time.monotonic() + self._batch_interval_s
            while len(self._pending) < self._max_batch_size and not self._flush_waiters:
                remaining = fill_until - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    break
                self._cond.wait(remaining)
            size = min(len(self._pending), self._max_batch_size)
            batch = [self._pending.popleft() for _ in range(size)]
            self._pending_bytes -= sum(len(item[0]) for item in batch)
            self._bytes_refused_at = float('inf')
            self._in_flight = size
            return batch

    def _deliver(self, batch: list) -> None:
        if self._refused is not None:
            self.count_drop('unauthorized', len(batch))
            return
        gave_up = 'retries_exhausted'
        for attempt in range(self._max_retries + 1):
            try:
                if self._sends_encoded:
                    self._transport.send_encoded([item[0] for item in batch])
                else:
                    self._transport.send([item[1] for item in batch])
                if self._is_in_outage:
                    self._is_in_outage = False
                    logger.warning('pulsekit: delivering again')
                return
            except RetryLater as exc:
                gave_up = exc.kind
                if attempt == self._max_retries or self._stopping.is_set():
                    break
                delay = exc.retry_after_s if exc.retry_after_s is not None else backoff_delay(attempt, self._jitter())
                logger.debug('pulsekit: %s; retrying %d events in %.2f s', exc, len(batch), delay)
                self._sleep(delay)
            except Unauthorized as exc:
                with self._cond:
                    self._refused = str(exc)
                # One line, naming where and which key (by its prefix only: the key is a secret).
                logger.error(
                    'pulsekit: %s refused the key (%d %s); no more events are sent until init() gets a valid key',
                    self._describe_key or 'the server',
                    exc.status,
                    exc.code or 'unauthorized',
                )
                self.count_drop('unauthorized', len(batch))
                return
            except BatchRejected as exc:
                self.count_drop('rejected', len(batch))
                self._report_rejection(exc)
                return
            except Exception:
                # A custom transport failed in a way it did not classify: retrying blindly could loop.
                logger.exception('pulsekit: transport.send() failed; %d events dropped', len(batch))
                self.count_drop('transport_error', len(batch))
                return
        reason = 'shutdown' if self._stopping.is_set() else gave_up
        # One warning per outage, not one per batch: a server down for an hour must not flood the app's log.
        log = logger.debug if self._is_in_outage else logger.warning
        log('pulsekit: gave up sending %d events (%s); counted in dropped_events()', len(batch), reason)
        self._is_in_outage = True
        self.count_drop(reason, len(batch))

    def _report_rejection(self, exc: BatchRejected) -> None:
        # Once per kind of refusal: the same mistake in every event must not flood the host's log.
        kind = (exc.status, exc.code)
        if kind not in self._reported_rejections:
            self._reported_rejections.add(kind)
            logger.error('pulsekit: %s; such batches are dropped, not retried', exc)
