"""Logging: records at log_level and above become events, records at breadcrumb_level and above breadcrumbs.

Installed by wrapping `logging.Logger.callHandlers` (as sentry-sdk does) rather than adding a
root handler: records of loggers with `propagate=False`, and apps whose `dictConfig` replaces the
root's handlers, are still seen. The SDK's own records never come back into it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Any

from ..client import get_client
from ..scope import update_context_scope
from .hooks import capture_once

_reentry = threading.local()
_thresholds: dict = {}  # 'event' and 'breadcrumb' levels while installed
_original_call_handlers = logging.Logger.callHandlers


def level_from_logging(levelno: int) -> str:
    """The protocol level of a logging level number."""
    for threshold, name in ((logging.CRITICAL, 'fatal'), (logging.ERROR, 'error'), (logging.WARNING, 'warning')):
        if levelno >= threshold:
            return name
    return 'info' if levelno >= logging.INFO else 'debug'


def record_to_event(record: logging.LogRecord) -> dict:
    return {
        'level': level_from_logging(record.levelno),
        'message': record.getMessage(),
        'tags': {'logger': record.name},
        'metadata': {'log': {'file': record.pathname, 'line': record.lineno, 'function': record.funcName}},
    }


def record_to_breadcrumb(record: logging.LogRecord) -> dict:
    return {
        'timestamp': datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec='milliseconds'),
        'type': 'log',
        'category': record.name,
        'level': level_from_logging(record.levelno),
        'message': record.getMessage(),
    }


def capture_record(record: logging.LogRecord, event_level: int | None, breadcrumb_level: int | None) -> None:
    """The one place a log record turns into an event and/or a breadcrumb."""
    # The SDK's own warnings, or a record logged while capturing, would otherwise loop. A record
    # seen once (by the logging hook, then by a LoggingHandler the app added) is one event.
    if record.name.startswith('pulsekit_sdk') or getattr(_reentry, 'active', False):
        return
    if getattr(record, '_pulsekit_seen', False):
        return
    record._pulsekit_seen = True
    if get_client() is None:
        return
    _reentry.active = True
    try:
        if event_level is not None and record.levelno >= event_level:
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                capture_once(exc, **record_to_event(record))
            else:
                get_client().capture(**record_to_event(record))
        # After the event, so a record is not a breadcrumb of its own event.
        if breadcrumb_level is not None and record.levelno >= breadcrumb_level:
            crumb = record_to_breadcrumb(record)
            update_context_scope(lambda data: data.add_breadcrumb(crumb))
    finally:
        _reentry.active = False


def _call_handlers(self: logging.Logger, record: logging.LogRecord) -> Any:
    try:
        capture_record(record, _thresholds.get('event'), _thresholds.get('breadcrumb'))
    except Exception:  # never let the SDK break logging
        pass
    return _original_call_handlers(self, record)


class LoggingHandler(logging.Handler):
    """A handler for apps that wire logging by hand: records at its level and above become events."""

    def __init__(self, level: int = logging.ERROR):
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            capture_record(record, self.level, None)
        except Exception:
            self.handleError(record)


def install(event_level: int | None, breadcrumb_level: int | None) -> None:
    if event_level is None and breadcrumb_level is None:
        return
    _thresholds.update(event=event_level, breadcrumb=breadcrumb_level)
    logging.Logger.callHandlers = _call_handlers


def uninstall() -> None:
    _thresholds.clear()
    if logging.Logger.callHandlers is _call_handlers:
        logging.Logger.callHandlers = _original_call_handlers
