"""Automatic capture: uncaught exceptions, exceptions in threads and asyncio, and logging records.

Each hook captures into the client installed at the time it runs, then hands over to the hook it
replaced, so Python's usual traceback printing (and any other tool's hook) keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from typing import Any

from .client import get_client

_CAPTURED_MARK = '__pulsekit_captured__'
_installed: dict = {}  # what each installed hook replaced, to restore it on uninstall
_ASYNCIO_DEFAULT_HANDLER = asyncio.BaseEventLoop.default_exception_handler
# threading.__excepthook__ only exists from Python 3.10 on.
_THREADING_DEFAULT_HOOK = getattr(threading, '__excepthook__', threading.excepthook)


def capture_once(exc: BaseException, **fields: Any) -> str | None:
    """Capture exc unless an earlier hook did (e.g. logged with exc_info, then re-raised and uncaught)."""
    client = get_client()
    if client is None or getattr(exc, _CAPTURED_MARK, False):
        return None
    mark_captured(exc)
    return client.capture(exc=exc, **fields)


def mark_captured(exc: BaseException) -> None:
    # Exceptions with read-only attributes cannot be marked: they may be captured twice.
    with contextlib.suppress(Exception):
        setattr(exc, _CAPTURED_MARK, True)


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


def level_from_logging(levelno: int) -> str:
    """The protocol level of a logging level number."""
    for threshold, name in ((logging.CRITICAL, 'fatal'), (logging.ERROR, 'error'), (logging.WARNING, 'warning')):
        if levelno >= threshold:
            return name
    return 'info' if levelno >= logging.INFO else 'debug'


class LoggingHandler(logging.Handler):
    """Turns log records (ERROR and above by default) into events; exc_info becomes the exception."""

    _reentry = threading.local()

    def __init__(self, level: int = logging.ERROR):
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        # The SDK's own warnings, or a record logged while capturing, would otherwise loop.
        if record.name.startswith('pulsekit_sdk') or getattr(self._reentry, 'active', False):
            return
        client = get_client()
        if client is None:
            return
        self._reentry.active = True
        try:
            fields = {
                'level': level_from_logging(record.levelno),
                'message': record.getMessage(),
                'tags': {'logger': record.name},
                'metadata': {'log': {'file': record.pathname, 'line': record.lineno, 'function': record.funcName}},
            }
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                capture_once(exc, **fields)
            else:
                client.capture(**fields)
        except Exception:
            self.handleError(record)
        finally:
            self._reentry.active = False


def install(capture_uncaught: bool, capture_asyncio: bool, log_level: int | None) -> None:
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
    if log_level is not None and 'logging' not in _installed:
        handler = LoggingHandler(log_level)
        logging.getLogger().addHandler(handler)
        _installed['logging'] = handler


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
    if 'logging' in _installed:
        logging.getLogger().removeHandler(_installed.pop('logging'))
