"""PulseKit SDK for Python: send errors and custom events to a PulseKit server.

    import pulsekit_sdk
    pulsekit_sdk.init(dsn='http://pk_…@127.0.0.1:4000/1', environment='production')
    pulsekit_sdk.capture(type='payment.success', message='Order 1234 paid', metadata={'amount_cents': 4999})

Only init() raises (ConfigurationError, for options that cannot work); every other function
swallows and logs its own failures, and does nothing before init().
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from . import integrations
from .client import Client, get_client, swap_client
from .integrations import LoggingHandler, asyncio_exception_handler
from .options import ConfigurationError, Options, parse_dsn
from .scope import ScopeData, reset_global_scope, scope, update_global_scope
from .transport import BatchRejected, HttpTransport, RetryLater, Transport
from .version import VERSION

__version__ = VERSION
__all__ = [
    'BatchRejected',
    'Client',
    'ConfigurationError',
    'HttpTransport',
    'LoggingHandler',
    'Options',
    'RetryLater',
    'ScopeData',
    'Transport',
    'asyncio_exception_handler',
    'capture',
    'capture_exception',
    'capture_message',
    'close',
    'flush',
    'get_client',
    'init',
    'parse_dsn',
    'scope',
    'set_context',
    'set_tag',
    'set_tags',
    'set_user',
]

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
        reset_global_scope(parsed.tags)
        integrations.install(parsed.capture_uncaught, parsed.capture_asyncio, parsed.log_level)
        # atexit runs after sys.excepthook, so the event of a crash is still sent. Re-registering
        # keeps one registration however often init() is called.
        atexit.unregister(_close_at_exit)
        atexit.register(_close_at_exit)
    return client


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
    """Set a global tag (None removes it); scoped tags, see scope(), win over global ones."""
    update_global_scope(lambda data: data.set_tag(key, value))


def set_tags(tags: dict) -> None:
    update_global_scope(lambda data: data.set_tags(tags))


def set_user(user: dict | None) -> None:
    """Set the global user: {'id', 'email', 'username', 'ip_address'}; None forgets it."""
    update_global_scope(lambda data: data.set_user(user))


def set_context(key: str, value: Any) -> None:
    """Add key: value to the metadata of every event (None removes it)."""
    update_global_scope(lambda data: data.set_context(key, value))
