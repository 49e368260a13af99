"""The client: turns calls into events, applies sampling and before_send, and hands them to the worker.

Every public method catches its own failures: after init() the SDK never raises into the host app.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import sys
import threading
import uuid
from typing import Any, Callable
from urllib.parse import urlsplit

from .options import Options
from .scope import current_scope
from .stacktraces import InAppRules, exception_to_wire
from .transport import HttpTransport
from .wire import clean_event, now_rfc3339
from .worker import Worker

logger = logging.getLogger('pulsekit_sdk')

_CAPTURED_MARK = '__pulsekit_captured__'
_last_event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar('pulsekit_last_event_id', default=None)


def last_event_id() -> str | None:
    """The id of the last event captured in this thread, task or request (e.g. for a support reference)."""
    return _last_event_id.get()


def is_captured(exc: BaseException) -> bool:
    return getattr(exc, _CAPTURED_MARK, False) is True


def mark_captured(exc: BaseException) -> None:
    # Exceptions with read-only attributes cannot be marked: they may be captured twice.
    with contextlib.suppress(Exception):
        setattr(exc, _CAPTURED_MARK, True)


def describe_server(endpoint: str, api_key: str) -> str:
    """'the server at HOST:PORT, key pk_ab12…': enough to find a wrong DSN, without the secret."""
    host = urlsplit(endpoint).netloc or endpoint
    return f'the server at {host} (key {api_key[:7]}…)'


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
        self.transport = options.transport or HttpTransport(
            options.endpoint, options.api_key, options.timeout_s, proxy=options.proxy, ca_certs=options.ca_certs
        )
        self._sample = sample or random.random
        self._before_send_takes_hint = options.before_send is not None and options.before_send_takes_hint()
        self._in_app = InAppRules(options.in_app_include, options.in_app_exclude)
        self._worker = Worker(
            self.transport,
            describe_key=describe_server(options.endpoint, options.api_key),
            max_queue_size=options.max_queue_size,
            max_queue_bytes=options.max_queue_bytes,
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
            if exc is not None:
                # The same exception object reported twice (a framework hook, then logging.exception)
                # is one event.
                if is_captured(exc):
                    self._worker.count_drop('duplicate')
                    return None
                mark_captured(exc)
                if self._is_ignored(exc):
                    self._worker.count_drop('ignore_errors')
                    return None
            # Sample first: an event that will not be kept should cost neither a stack walk nor before_send.
            if self.options.sample_rate < 1.0 and self._sample() >= self.options.sample_rate:
                self._worker.count_drop('sample_rate')
                return None
            full = self._worker.full_reason()
            if full is not None:
                self._worker.count_drop(full)
                return None
            event = self._build_event(type, level, message, metadata, tags, user, fingerprint, exc)
            event_id = self._send(event, exc)
            if event_id is not None:
                _last_event_id.set(event_id)
            return event_id
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

    def _is_ignored(self, exc: BaseException) -> bool:
        for entry in self.options.ignore_errors:
            if isinstance(entry, type):
                if isinstance(exc, entry):
                    return True
            elif entry in (type(exc).__name__, f'{type(exc).__module__}.{type(exc).__qualname__}'):
                return True
        return False

    def _build_event(self, type, level, message, metadata, tags, user, fingerprint, exc) -> dict:
        scope = current_scope()
        event: dict = {'id': str(uuid.uuid4()), 'type': type, 'level': scope.level or level, 'message': message}
        if exc is not None:
            frames_limit = self.options.max_stack_frames
            event['exception'], event['stacktrace'] = exception_to_wire(exc, frames_limit, self._in_app)
            if message is None:
                event['message'] = event['exception']['value'] or event['exception']['type']
        event['environment'] = self.options.environment
        event['release'] = self.options.release
        event['tags'] = {**scope.tags, **(tags if isinstance(tags, dict) else {})}
        event['user'] = user or scope.user
        event['metadata'] = self._metadata(scope, metadata)
        event['fingerprint'] = fingerprint
        event['timestamp'] = now_rfc3339()
        return clean_event(event)

    def _metadata(self, scope, metadata: Any) -> dict | None:
        # Shared values first, then the call's own metadata, which wins on a clash. The names
        # (server_name, dist, request, extra, breadcrumbs) are those the server gives a Sentry event's.
        shared: dict = {}
        if self.options.server_name:
            shared['server_name'] = self.options.server_name
        if self.options.dist:
            shared['dist'] = self.options.dist
        if scope.request:
            shared['request'] = scope.request
        if scope.extra:
            shared['extra'] = scope.extra
        if scope.breadcrumbs:
            shared['breadcrumbs'] = list(scope.breadcrumbs)
        own = metadata if isinstance(metadata, dict) else ({} if metadata is None else {'value': metadata})
        merged = {**shared, **scope.context, **own}
        return merged or None if metadata is None else merged

    def _send(self, event: dict, exc: BaseException | None = None) -> str | None:
        if self.options.before_send is not None:
            try:
                if self._before_send_takes_hint:
                    hint = {'exc_info': (type(exc), exc, exc.__traceback__) if exc is not None else None}
                    edited = self.options.before_send(event, hint)
                else:
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
