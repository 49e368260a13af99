"""Validate and normalise incoming events, per docs/protocol.md.

Identifiers (type, level, environment, release, tags) are checked strictly and refused with
the path of the bad value; free text (message, exception value, source lines) is truncated
to its cap, because a long message should never cost a user their error report.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ..errors import InvalidField
from ..models import LEVELS, to_millis
from .storable import lone_surrogate_path, surrogate_error

MAX_MESSAGE_CHARS = 8192
MAX_TYPE_CHARS = 100
MAX_EXCEPTION_TYPE_CHARS = 256
MAX_MODULE_CHARS = 256
MAX_CHAIN = 10
MAX_FRAMES = 250
MAX_PATH_CHARS = 1024
MAX_FUNCTION_CHARS = 256
MAX_SOURCE_LINE_CHARS = 1024
MAX_CONTEXT_LINES = 10
MAX_ENVIRONMENT_CHARS = 64
MAX_RELEASE_CHARS = 200
MAX_TAGS = 50
MAX_TAG_KEY_CHARS = 64
MAX_TAG_VALUE_CHARS = 200
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 10
MAX_FINGERPRINT_PARTS = 10
MAX_FINGERPRINT_PART_CHARS = 200
MAX_USER_FIELD_CHARS = 200
MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_EPOCH_S = 32503680000  # 3000-01-01T00:00:00Z, epoch seconds

LEVEL_ALIASES = {'warn': 'warning', 'critical': 'fatal', 'err': 'error'}
TOP_LEVEL_FIELDS = frozenset(
    'id type level message metadata exception stacktrace environment release tags timestamp fingerprint user'.split()
)
USER_FIELDS = ('id', 'email', 'username', 'ip_address')
FRAME_TEXT_FIELDS = {
    'filename': MAX_PATH_CHARS,
    'abs_path': MAX_PATH_CHARS,
    'function': MAX_FUNCTION_CHARS,
    'module': MAX_MODULE_CHARS,
}
_NAME_RE = re.compile(r'[A-Za-z0-9_.:\-]+')
_CONTAINERS = (dict, list)
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + '…'


def _string(value: Any, path: str, *, limit: int | None = None, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InvalidField(f'{path} is required', path)
        return None
    if not isinstance(value, str):
        raise InvalidField(f'{path} must be a string', path)
    return value if limit is None else _truncate(value, limit)


def _name(value: Any, path: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidField(f'{path} must be a string', path)
    if not 1 <= len(value) <= limit or not _NAME_RE.fullmatch(value):
        raise InvalidField(f'{path} must be 1-{limit} characters of A-Z a-z 0-9 _ . : -', path)
    return value


def _label(value: Any, path: str, limit: int, *, no_slash: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(f'{path} must be a string', path)
    if not 1 <= len(value) <= limit or _CONTROL_RE.search(value) or (no_slash and '/' in value):
        extra = ', without "/"' if no_slash else ''
        raise InvalidField(f'{path} must be 1-{limit} characters without control characters{extra}', path)
    return value


def parse_uuid(value: Any, path: str) -> uuid.UUID:
    if not isinstance(value, str):
        raise InvalidField(f'{path} must be a UUID string', path)
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidField(f'{path} must be a UUID', path) from None


def parse_level(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidField(f'{path} must be one of {", ".join(LEVELS)}', path)
    level = value.lower()
    level = LEVEL_ALIASES.get(level, level)
    if level not in LEVELS:
        raise InvalidField(f'{path} must be one of {", ".join(LEVELS)}', path)
    return level


class TimestampOutOfRange(InvalidField):
    """A well-formed time outside what can be stored (before 0001 or after 9999 in UTC, or epoch < 0)."""


def parse_timestamp(value: Any, path: str) -> datetime:
    """RFC 3339 with an offset, or epoch seconds."""
    if isinstance(value, bool):
        raise InvalidField(f'{path} must be an RFC 3339 string or epoch seconds', path)
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < MAX_EPOCH_S:
            raise TimestampOutOfRange(f'{path} is out of range (epoch seconds from 0 to {MAX_EPOCH_S})', path)
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(('Z', 'z')):
            text = text[:-1] + '+00:00'
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or ('T' not in text.upper() and ' ' not in text):
            raise InvalidField(f'{path} must be RFC 3339 with a time zone, e.g. 2026-11-26T07:00:00Z', path)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC; 9999-12-31T23:00-14:00 in 10000
            message = f'{path} is out of range: in UTC it falls outside the years 1-9999'
            raise TimestampOutOfRange(message, path) from None
    raise InvalidField(f'{path} must be an RFC 3339 string or epoch seconds', path)


def _depth(value: Any, limit: int) -> bool:
    """True when `value` nests deeper than `limit` levels (a scalar counts as a level).

    Walks containers only, one level at a time: a non-empty container at `limit` has children
    past it. Visiting every scalar made this the costliest step of validating metadata-rich
    (e.g. Sentry) events.
    """
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 1
    while level:
        if depth >= limit:
            return any(level)
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, _CONTAINERS)
        ]
        depth += 1
    return False


def _metadata(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidField(f'{path} must be an object', path)
    if _depth(value, MAX_METADATA_DEPTH):
        raise InvalidField(f'{path} nests deeper than {MAX_METADATA_DEPTH} levels', path)
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:  # text without a UTF-8 form (a lone surrogate): say where
        raise surrogate_error(lone_surrogate_path(value, path) or path) from None
    if size > MAX_METADATA_BYTES:
        raise InvalidField(f'{path} is larger than {MAX_METADATA_BYTES // 1024} KiB', path)
    return value


def _tags(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidField(f'{path} must be an object of strings', path)
    if len(value) > MAX_TAGS:
        raise InvalidField(f'{path} has more than {MAX_TAGS} tags', path)
    tags = {}
    for key, raw in value.items():
        key_path = f'{path}.{key}'
        _name(key, key_path, MAX_TAG_KEY_CHARS)
        if isinstance(raw, bool):
            raw = 'true' if raw else 'false'
        elif isinstance(raw, int | float):
            raw = str(raw)
        if not isinstance(raw, str):
            raise InvalidField(f'{key_path} must be a string', key_path)
        if len(raw) > MAX_TAG_VALUE_CHARS or _CONTROL_RE.search(raw):
            message = f'{key_path} must be at most {MAX_TAG_VALUE_CHARS} characters, no control characters'
            raise InvalidField(message, key_path)
        tags[key] = raw
    return tags


def _user(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidField(f'{path} must be an object', path)
    user = {}
    for key, raw in value.items():
        if key not in USER_FIELDS:
            raise InvalidField(f'{path}.{key} is not a user field ({", ".join(USER_FIELDS)})', f'{path}.{key}')
        if raw is None:
            continue
        if key == 'id' and isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        user[key] = _string(raw, f'{path}.{key}', limit=MAX_USER_FIELD_CHARS)
    return user or None


def _context_lines(value: Any, path: str, *, keep_last: bool) -> list[str]:
    if type(value) is not list:
        raise InvalidField(f'{path} must be a list of strings', path)
    lines = value[-MAX_CONTEXT_LINES:] if keep_last else value[:MAX_CONTEXT_LINES]
    for line in lines:
        if type(line) is not str:
            raise InvalidField(f'{path} must be a list of strings', path)
    if any(len(line) > MAX_SOURCE_LINE_CHARS for line in lines):
        return [_truncate(line, MAX_SOURCE_LINE_CHARS) for line in lines]
    return lines


def _frame(value: Any, path: str) -> dict:
    # The hottest validation code (every frame of every error): paths are formatted only on failure.
    if type(value) is not dict:
        raise InvalidField(f'{path} must be an object', path)
    frame: dict[str, Any] = {}
    get = value.get
    for key, limit in FRAME_TEXT_FIELDS.items():
        text = get(key)
        if text is not None:
            if type(text) is not str:
                raise InvalidField(f'{path}.{key} must be a string', f'{path}.{key}')
            frame[key] = text if len(text) <= limit else _truncate(text, limit)
    for key in ('lineno', 'colno'):
        number = get(key)
        if number is not None:
            if type(number) is not int or number < 0:
                raise InvalidField(f'{path}.{key} must be a whole number >= 0', f'{path}.{key}')
            frame[key] = number
    in_app = get('in_app')
    if in_app is not None:
        if type(in_app) is not bool:
            raise InvalidField(f'{path}.in_app must be true or false', f'{path}.in_app')
        frame['in_app'] = in_app
    line = get('context_line')
    if line is not None:
        if type(line) is not str:
            raise InvalidField(f'{path}.context_line must be a string', f'{path}.context_line')
        frame['context_line'] = line if len(line) <= MAX_SOURCE_LINE_CHARS else _truncate(line, MAX_SOURCE_LINE_CHARS)
    pre, post = get('pre_context'), get('post_context')
    if pre is not None:  # the lines just above the failing one matter most
        frame['pre_context'] = _context_lines(pre, f'{path}.pre_context', keep_last=True)
    if post is not None:
        frame['post_context'] = _context_lines(post, f'{path}.post_context', keep_last=False)
    return frame


def _stacktrace(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get('frames'), list):
        raise InvalidField(f'{path} must be an object with a "frames" list', path)
    frames = value['frames']
    skipped = max(0, len(frames) - MAX_FRAMES)
    # Keep the frames closest to the failure: they are the last ones.
    kept = [_frame(frame, f'{path}.frames[{skipped + i}]') for i, frame in enumerate(frames[skipped:])]
    stacktrace: dict[str, Any] = {'frames': kept}
    if skipped:
        stacktrace['frames_omitted'] = skipped
    return stacktrace


def _exception_entry(value: Any, path: str, *, allow_chain: bool) -> dict:
    if not isinstance(value, dict):
        raise InvalidField(f'{path} must be an object', path)
    allowed = {'type', 'value', 'module', 'stacktrace'} | ({'chain'} if allow_chain else set())
    for key in value:
        if key not in allowed:
            raise InvalidField(f'{path}.{key} is not an exception field', f'{path}.{key}')
    exc_type = value.get('type')
    if not isinstance(exc_type, str) or not 1 <= len(exc_type) <= MAX_EXCEPTION_TYPE_CHARS:
        raise InvalidField(f'{path}.type must be a string of 1-{MAX_EXCEPTION_TYPE_CHARS} characters', f'{path}.type')
    entry: dict[str, Any] = {'type': exc_type}
    text = _string(value.get('value'), f'{path}.value', limit=MAX_MESSAGE_CHARS)
    if text is not None:
        entry['value'] = text
    module = _string(value.get('module'), f'{path}.module', limit=MAX_MODULE_CHARS)
    if module is not None:
        entry['module'] = module
    if not allow_chain:
        stacktrace = _stacktrace(value.get('stacktrace'), f'{path}.stacktrace')
        if stacktrace is not None:
            entry['stacktrace'] = stacktrace
    elif value.get('chain') is not None:
        chain = value['chain']
        if not isinstance(chain, list) or len(chain) > MAX_CHAIN:
            raise InvalidField(f'{path}.chain must be a list of at most {MAX_CHAIN} exceptions', f'{path}.chain')
        entry['chain'] = [_exception_entry(c, f'{path}.chain[{i}]', allow_chain=False) for i, c in enumerate(chain)]
    return entry


def _fingerprint(value: Any, path: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FINGERPRINT_PARTS:
        raise InvalidField(f'{path} must be a list of 1-{MAX_FINGERPRINT_PARTS} strings', path)
    for i, part in enumerate(value):
        if not isinstance(part, str) or len(part) > MAX_FINGERPRINT_PART_CHARS:
            message = f'{path}[{i}] must be a string of at most {MAX_FINGERPRINT_PART_CHARS} characters'
            raise InvalidField(message, f'{path}[{i}]')
    return value


def normalize_event(raw: Any, received_at: datetime, path: str = '') -> dict:
    """Check one event against the protocol and return it normalised, ready for grouping and storage."""
    prefix = f'{path}.' if path else ''
    if not isinstance(raw, dict):
        raise InvalidField(f'{path or "the event"} must be a JSON object', path or None)
    for key in raw:
        if key not in TOP_LEVEL_FIELDS:
            raise InvalidField(f'{prefix}{key} is not an event field', f'{prefix}{key}')
    exception = (
        _exception_entry(raw['exception'], f'{prefix}exception', allow_chain=True)
        if raw.get('exception') is not None
        else None
    )
    stacktrace = _stacktrace(raw.get('stacktrace'), f'{prefix}stacktrace')
    return assemble_event(raw.get, exception, stacktrace, received_at, prefix)


def assemble_event(
    get, exception: dict | None, stacktrace: dict | None, received_at: datetime, prefix: str = ''
) -> dict:
    """The normalised event from its checked exception and stacktrace and `get(field)` for the other
    fields (checked here). Shared with events/decode.py, which checks those two its own way."""
    event_id = parse_uuid(get('id'), f'{prefix}id') if get('id') is not None else uuid.uuid4()
    level = parse_level(get('level'), f'{prefix}level') if get('level') is not None else None
    level = level or ('error' if exception else 'info')
    if get('type') is not None:
        event_type = _name(get('type'), f'{prefix}type', MAX_TYPE_CHARS)
    else:
        event_type = 'error' if exception or level in ('error', 'fatal') else 'message'

    timestamp = received_at
    if get('timestamp') is not None:
        timestamp = parse_timestamp(get('timestamp'), f'{prefix}timestamp')
        if timestamp - received_at > MAX_FUTURE_SKEW:
            timestamp = received_at

    return {
        'id': event_id,
        'type': event_type,
        'level': level,
        'message': _string(get('message'), f'{prefix}message', limit=MAX_MESSAGE_CHARS),
        'exception': exception,
        'stacktrace': stacktrace,
        'metadata': _metadata(get('metadata'), f'{prefix}metadata'),
        'environment': _label(get('environment'), f'{prefix}environment', MAX_ENVIRONMENT_CHARS, no_slash=True),
        'release': _label(get('release'), f'{prefix}release', MAX_RELEASE_CHARS),
        'tags': _tags(get('tags'), f'{prefix}tags'),
        'user': _user(get('user'), f'{prefix}user'),
        'fingerprint': _fingerprint(get('fingerprint'), f'{prefix}fingerprint'),
        'timestamp': to_millis(timestamp),
        'received_at': to_millis(received_at),
    }


def normalize_batch(body: Any, received_at: datetime, max_events: int) -> list[dict]:
    """Validate a `{"events": [...]}` body; one bad event refuses the whole batch."""
    if not isinstance(body, dict) or not isinstance(body.get('events'), list):
        raise InvalidField('the body must be an object with an "events" list', 'events')
    unknown = set(body) - {'events'}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidField(f'{name} is not a batch field', name)
    events = body['events']
    if not 1 <= len(events) <= max_events:
        raise InvalidField(f'events must hold 1 to {max_events} events', 'events')
    return [normalize_event(raw, received_at, f'events[{i}]') for i, raw in enumerate(events)]
