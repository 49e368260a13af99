"""The client: turns calls into events, applies sampling and before_send, and hands them to the worker.

Every public method catches its own failures: after init() the SDK never raises into the host app.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import uuid
from typing import Any, Callable

from .options import Options
from .scope import current_scope
from .stacktraces import exception_to_wire
from .transport import HttpTransport
from .wire import clean_event, now_rfc3339
from .worker import Worker

logger = logging.getLogger('pulsekit_sdk')


class Client:
    """One configured connection to a PulseKit server. init() makes one and installs it globally."""

    def __init__(
        self,
        options: Options,
        *,
        sleep: Callable[[float], object] | None = None,
        jitter: Callable[[], float] | None = None,
        sample: Callable[[], float] | None = None,
    ):
        """sleep, jitter and sample replace time.sleep and random.random (tests make them deterministic)."""
        self.options = options
        self.transport = options.transport or HttpTransport(options.endpoint, options.api_key, options.timeout_s)
        self._sample = sample or random.random
        self._worker = Worker(
            self.transport,
            max_queue_size=options.max_queue_size,
            max_batch_size=options.max_batch_size,
            batch_interval_s=options.batch_interval_s,
            max_retries=options.max_retries,
            sleep=sleep,
            jitter=jitter or random.random,
        )

    def capture(
        self,
        type: str | None = None,
        level: str | None = None,
        message: str | None = None,
        metadata: dict | None = None,
        tags: dict | None = None,
        user: dict | None = None,
        fingerprint: list | None = None,
        exc: BaseException | None = None,
    ) -> str | None:
        """Queue one event; returns its id, or None when it was dropped (sampling, before_send, full queue)."""
        try:
            # Sample first: an event that will not be kept should cost neither a stack walk nor before_send.
            if self.options.sample_rate < 1.0 and self._sample() >= self.options.sample_rate:
                self._worker.count_drop('sample_rate')
                return None
            event = self._build_event(type, level, message, metadata, tags, user, fingerprint, exc)
            return self._send(event)
        except Exception:
            logger.exception('pulsekit: could not capture an event')
            return None

    def capture_exception(self, exc: BaseException | None = None, **fields: Any) -> str | None:
        """Capture exc, or the exception being handled; None when there is none."""
        if exc is None:
            exc = sys.exc_info()[1]
        if exc is None:
            logger.debug('pulsekit: capture_exception() called outside an except block; nothing captured')
            return None
        return self.capture(exc=exc, **fields)

    def capture_message(self, message: str, level: str = 'info', **fields: Any) -> str | None:
        """Capture a message event (type 'message' unless the level is error or fatal)."""
        return self.capture(message=message, level=level, **fields)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until queued events are sent; False when timeout_s (default: shutdown_timeout_s) ran out."""
        try:
            return self._worker.flush(self.options.shutdown_timeout_s if timeout_s is None else timeout_s)
        except Exception:
            logger.exception('pulsekit: flush failed')
            return False

    def close(self, timeout_s: float | None = None) -> bool:
        """Flush, then stop the worker. Events captured afterwards are dropped and counted."""
        try:
            return self._worker.close(self.options.shutdown_timeout_s if timeout_s is None else timeout_s)
        except Exception:
            logger.exception('pulsekit: close failed')
            return False

    def dropped_events(self) -> dict:
        """How many events were dropped, by reason: sample_rate, before_send, queue_full, rejected, …"""
        return self._worker.dropped()

    def _build_event(self, type, level, message, metadata, tags, user, fingerprint, exc) -> dict:
        scope = current_scope()
        event: dict = {'id': str(uuid.uuid4()), 'type': type, 'level': level, 'message': message}
        if exc is not None:
            event['exception'], event['stacktrace'] = exception_to_wire(exc)
            if message is None:
                event['message'] = event['exception']['value'] or event['exception']['type']
        event['environment'] = self.options.environment
        event['release'] = self.options.release
        event['tags'] = {**scope.tags, **(tags if isinstance(tags, dict) else {})}
        event['user'] = user or scope.user
        # Context is metadata shared by many events; the call's own metadata wins on a clash.
        if scope.context or metadata is not None:
            own = metadata if isinstance(metadata, dict) else ({} if metadata is None else {'value': metadata})
            event['metadata'] = {**scope.context, **own}
        event['fingerprint'] = fingerprint
        event['timestamp'] = now_rfc3339()
        return clean_event(event)

    def _send(self, event: dict) -> str | None:
        if self.options.before_send is not None:
            try:
                edited = self.options.before_send(event)
            except Exception:
                # Dropped, not sent unedited: before_send is often where private data is scrubbed.
                logger.exception('pulsekit: before_send raised; the event was dropped')
                self._worker.count_drop('before_send_error')
                return None
            if edited is None:
                self._worker.count_drop('before_send')
                return None
            if not isinstance(edited, dict):
                logger.error('pulsekit: before_send returned %s, not a dict or None; event dropped', type(edited))
                self._worker.count_drop('before_send_error')
                return None
            event = clean_event(edited)
            event.setdefault('id', str(uuid.uuid4()))
        return event['id'] if self._worker.submit(event) else None


_current: Client | None = None
_current_lock = threading.Lock()


def get_client() -> Client | None:
    """The client installed by init(), or None before init() and after close()."""
    return _current


def swap_client(client: Client | None) -> Client | None:
    """Install client as the global one and return the previous one."""
    global _current
    with _current_lock:
        previous, _current = _current, client
    return previous
