"""Automatic capture: uncaught exceptions, exceptions in threads and in asyncio.

Each hook captures into the client installed at the time it runs, then hands over to the hook it
replaced, so Python's usual traceback printing (and any other tool's hook) keeps working.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from ..client import get_client, is_captured

_installed: dict = {}  # what each installed hook replaced, to restore it on uninstall
_ASYNCIO_DEFAULT_HANDLER = asyncio.BaseEventLoop.default_exception_handler
# threading.__excepthook__ only exists from Python 3.10 on.
_THREADING_DEFAULT_HOOK = getattr(threading, '__excepthook__', threading.excepthook)


def capture_once(exc: BaseException, **fields: Any) -> str | None:
    """Capture exc unless something captured it already (e.g. logged with exc_info, then re-raised)."""
    client = get_client()
    if client is None or is_captured(exc):
        return None
    return client.capture(exc=exc, **fields)


def _sys_excepthook(exc_type, exc, tb) -> None:
    try:
        if exc is not None and not issubclass(exc_type, KeyboardInterrupt):
            capture_once(exc, level='fatal', tags={'mechanism': 'sys.excepthook'})
    finally:
        _installed.get('sys.excepthook', sys.__excepthook__)(exc_type, exc, tb)


def _threading_excepthook(args) -> None:
    try:
        if args.exc_value is not None and not issubclass(args.exc_type, SystemExit):
            thread_name = args.thread.name if args.thread is not None else None
            capture_once(
                args.exc_value,
                level='error',
                tags={'mechanism': 'threading.excepthook'},
                metadata={'thread': thread_name},
            )
    finally:
        _installed.get('threading.excepthook', _THREADING_DEFAULT_HOOK)(args)


def asyncio_exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """For loop.set_exception_handler() on loops that are not asyncio's own (uvloop): capture, then log."""
    capture_asyncio_context(context)
    loop.default_exception_handler(context)


def capture_asyncio_context(context: dict) -> None:
    exc = context.get('exception')
    if isinstance(exc, BaseException) and not isinstance(exc, asyncio.CancelledError):
        capture_once(exc, level='error', tags={'mechanism': 'asyncio'}, metadata={'asyncio': context.get('message')})


def _asyncio_default_exception_handler(self, context: dict) -> None:
    try:
        capture_asyncio_context(context)
    finally:
        _installed.get('asyncio', _ASYNCIO_DEFAULT_HANDLER)(self, context)


def install(capture_uncaught: bool, capture_asyncio: bool) -> None:
    """Install the requested hooks; installing twice is harmless."""
    if capture_uncaught and 'sys.excepthook' not in _installed:
        _installed['sys.excepthook'] = sys.excepthook
        sys.excepthook = _sys_excepthook
    if capture_uncaught and 'threading.excepthook' not in _installed:
        _installed['threading.excepthook'] = threading.excepthook
        threading.excepthook = _threading_excepthook
    if capture_asyncio and 'asyncio' not in _installed:
        # The class attribute, so loops created later (asyncio.run after init) are covered too;
        # a loop with its own handler reaches it when that handler calls default_exception_handler.
        _installed['asyncio'] = asyncio.BaseEventLoop.default_exception_handler
        asyncio.BaseEventLoop.default_exception_handler = _asyncio_default_exception_handler


def uninstall() -> None:
    """Put back what install() replaced, unless someone replaced our hook in the meantime."""
    if 'sys.excepthook' in _installed:
        previous = _installed.pop('sys.excepthook')
        if sys.excepthook is _sys_excepthook:
            sys.excepthook = previous
    if 'threading.excepthook' in _installed:
        previous = _installed.pop('threading.excepthook')
        if threading.excepthook is _threading_excepthook:
            threading.excepthook = previous
    if 'asyncio' in _installed:
        previous = _installed.pop('asyncio')
        if asyncio.BaseEventLoop.default_exception_handler is _asyncio_default_exception_handler:
            asyncio.BaseEventLoop.default_exception_handler = previous
