"""Logging for `pulsekit serve`: one format, periodic jobs kept quiet, and no secret in any line.

Redaction happens where every log record is made (the record factory), so it covers our
loggers and the libraries' (uvicorn, NiceGUI, httpx), messages and tracebacks alike,
whatever handler or format prints them.
"""

from __future__ import annotations

import logging
import re

LOG_FORMAT = '%(asctime)s %(levelname)s %(name)s: %(message)s'
REDACTED = '[redacted]'
# Libraries whose INFO lines are routine: APScheduler logs every job run (several a second), httpx
# every request, with the webhook URL, whose path often is the receiver's secret (Slack, Discord).
QUIET_LOGGERS = ('apscheduler', 'httpx', 'httpcore')

_SECRETS = [
    # API keys, alone or inside a DSN: keep the 10-character prefix the dashboard shows, to tell them apart.
    (re.compile(r'\b(pk_[A-Za-z0-9]{7})[A-Za-z0-9]{4,}'), r'\1…'),
    (re.compile(r'\bwhsec_[A-Za-z0-9+/=]+'), 'whsec_' + REDACTED),  # webhook signing secrets
    # Secrets in query strings, headers and cookies: sentry_key=…, X-PulseKit-Key: …, session=…
    (
        re.compile(
            r'(?i)\b(sentry_key|sentry_secret|key|token|secret|password|ticket|session|signature)'
            r'(\s*[=:]\s*)(?!\[redacted\])[^\s&;,"\']+'
        ),
        r'\1\2' + REDACTED,
    ),
    (re.compile(r'(?i)\b(bearer)\s+[^\s,"\']+'), r'\1 ' + REDACTED),
    (
        re.compile(r'(?i)(x-pulsekit-key|x-sentry-auth|authorization|cookie)(["\']?\s*[:,]\s*["\']?)[^\n"\']+'),
        r'\1\2' + REDACTED,
    ),
    (re.compile(r'(://[^/\s:@]+:)[^/\s@]+@'), r'\1' + REDACTED + '@'),  # passwords in URLs
]


def redact(text: str) -> str:
    """`text` with API keys, webhook secrets, session cookies and credentials replaced."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _redacting_factory(base):
    formatter = logging.Formatter()

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set: the traceback is formatted (and redacted) here.
            record.exc_text = redact(formatter.formatException(record.exc_info))
        return record

    make_record.pulsekit_redacting = True
    return make_record


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr at `level`, quiet routine library lines, and redact secrets from every record."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, 'pulsekit_redacting', False):
        logging.setLogRecordFactory(_redacting_factory(factory))
