"""PulseKit SDK for Python: send errors and custom events to a PulseKit server.

    import pulsekit_sdk
    pulsekit_sdk.init(dsn='http://pk_…@127.0.0.1:4000/1', environment='production')
    pulsekit_sdk.capture(type='payment.success', message='Order 1234 paid', metadata={'amount_cents': 4999})

Only init() raises (ConfigurationError, for options that cannot work); every other function
swallows and logs its own failures, and does nothing before init().

Context (set_tag, set_user, set_context, set_extra, add_breadcrumb, …) belongs to the thread,
asyncio task or request that sets it, never to another one; what init() is given (and
global_scope()'s setters) applies to every event. See scope.py.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from datetime import datetime, timezone
from typing import Any

from . import integrations
from .client import Client, get_client, last_event_id, swap_client
from .integrations import LoggingHandler, PulseKitASGIMiddleware, PulseKitWSGIMiddleware, asyncio_exception_handler
from .options import ConfigurationError, Options, parse_dsn
from .scope import (
    GlobalScopeHandle,
    ScopeData,
    isolation_scope,
    reset_global_scope,
    scope,
    update_context_scope,
)
from .transport import BatchRejected, HttpTransport, RetryLater, Transport, Unauthorized
from .version import VERSION

__version__ = VERSION
__all__ = [
    'BatchRejected',
    'Client',
    'ConfigurationError',
    'HttpTransport',
    'LoggingHandler',
    'Options',
    'PulseKitASGIMiddleware',
    'PulseKitWSGIMiddleware',
    'RetryLater',
    'ScopeData',
    'Transport',
    'Unauthorized',
    'add_breadcrumb',
    'asyncio_exception_handler',
    'capture',
    'capture_exception',
    'capture_message',
    'close',
    'flush',
    'get_client',
    'global_scope',
    'init',
    'isolation_scope',
    'last_event_id',
    'new_scope',
    'parse_dsn',
    'push_scope',
    'scope',
    'set_context',
    'set_extra',
    'set_level',
    'set_tag',
    'set_tags',
    'set_user',
]

# sentry-sdk's names for a nested scope: same behaviour as scope().
new_scope = scope
push_scope = scope
_debug_handlers: list = []

_init_lock = threading.Lock()


def init(dsn: str | None = None, **options: Any) -> Client:
    """Configure the SDK (see README.md for every option); raises ConfigurationError on a bad option.

    Calling init() again replaces the previous client (after flushing it) and resets global tags.
    """
    parsed = Options.build(dsn, **options)
    with _init_lock:
        client = Client(parsed)
        previous = swap_client(client)
        if previous is not None:
            previous.close()
        integrations.uninstall()
        reset_global_scope(parsed.tags, parsed.max_breadcrumbs)
        _set_debug(parsed.debug)
        integrations.install(parsed)
        # atexit runs after sys.excepthook, so the event of a crash is still sent. Re-registering
        # keeps one registration however often init() is called.
        atexit.unregister(_close_at_exit)
        atexit.register(_close_at_exit)
    return client


def _set_debug(is_debug: bool) -> None:
    sdk_logger = logging.getLogger('pulsekit_sdk')
    while _debug_handlers:
        sdk_logger.removeHandler(_debug_handlers.pop())
        sdk_logger.setLevel(logging.NOTSET)
    if is_debug:
        # The stderr of now, not of import time (a test runner or daemon may have replaced it).
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter('[pulsekit_sdk] %(levelname)s %(message)s'))
        _debug_handlers.append(handler)
        sdk_logger.addHandler(handler)
        sdk_logger.setLevel(logging.DEBUG)


def _close_at_exit() -> None:
    client = get_client()
    if client is not None:
        client.close()


def capture(
    type: str | None = None,
    level: str | None = None,
    message: str | None = None,
    metadata: dict | None = None,
    tags: dict | None = None,
    **fields: Any,
) -> str | None:
    """Capture a custom event, e.g. capture(type='payment.success', level='info', message=…, metadata=…).

    Returns the event id, or None when the event was dropped (or init() was not called).
    """
    client = get_client()
    if client is None:
        return None
    return client.capture(type=type, level=level, message=message, metadata=metadata, tags=tags, **fields)


def capture_exception(exc: BaseException | None = None, **fields: Any) -> str | None:
    """Capture exc, or the exception being handled when called in an except block."""
    client = get_client()
    return client.capture_exception(exc, **fields) if client is not None else None


def capture_message(message: str, level: str = 'info', **fields: Any) -> str | None:
    """Capture a message at a level (debug, info, warning, error, fatal)."""
    client = get_client()
    return client.capture_message(message, level=level, **fields) if client is not None else None


def flush(timeout: float | None = None) -> bool:
    """Wait up to timeout seconds for queued events to be sent; True when everything was."""
    client = get_client()
    return client.flush(timeout) if client is not None else True


def close(timeout: float | None = None) -> bool:
    """Flush, stop the background worker and remove the hooks init() installed."""
    with _init_lock:
        client = swap_client(None)
        integrations.uninstall()
    return client.close(timeout) if client is not None else True


def set_tag(key: str, value: Any) -> None:
    """Set a tag on this thread's/task's/request's events (None removes it)."""
    update_context_scope(lambda data: data.set_tag(key, value))


def set_tags(tags: dict) -> None:
    """Set several tags, as set_tag."""
    update_context_scope(lambda data: data.set_tags(tags))


def set_user(user: dict | None) -> None:
    """Set the user of this thread's/task's/request's events: {'id', 'email', 'username', 'ip_address'}."""
    update_context_scope(lambda data: data.set_user(user))


def set_context(key: str, value: Any) -> None:
    """Add key: value to the metadata of this thread's/task's/request's events (None removes it)."""
    update_context_scope(lambda data: data.set_context(key, value))


def set_extra(key: str, value: Any) -> None:
    """Add key: value under metadata.extra (sentry-sdk's set_extra); None removes it."""
    update_context_scope(lambda data: data.set_extra(key, value))


def set_level(level: str | None) -> None:
    """Override the level of this thread's/task's/request's events (None: each event's own)."""
    update_context_scope(lambda data: data.set_level(level))


def add_breadcrumb(
    crumb: dict | None = None,
    *,
    message: str | None = None,
    category: str | None = None,
    level: str = 'info',
    type: str = 'default',
    data: dict | None = None,
) -> None:
    """Record something that happened; the newest max_breadcrumbs go with this context's next event."""
    try:
        entry = dict(crumb) if isinstance(crumb, dict) else {}
        given = {'message': message, 'category': category, 'data': data}
        entry.update({key: value for key, value in given.items() if value is not None})
        entry.setdefault('level', level)
        entry.setdefault('type', type)
        entry.setdefault('timestamp', datetime.now(timezone.utc).isoformat(timespec='milliseconds'))
    except Exception:
        return
    update_context_scope(lambda scope_data: scope_data.add_breadcrumb(entry))


def global_scope() -> GlobalScopeHandle:
    """Setters (set_tag, set_tags, set_user, set_context, set_extra) for values on every event of the process."""
    return GlobalScopeHandle()
