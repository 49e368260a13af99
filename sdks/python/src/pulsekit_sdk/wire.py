"""The event's wire form, kept within the limits of docs/protocol.md.

The server refuses a whole batch when one event breaks a rule, so every event is made valid here,
on the client, rather than risking the events it travels with.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import datetime, timezone
from typing import Any

logger = logging.getLogger('pulsekit_sdk')

LEVELS = ('debug', 'info', 'warning', 'error', 'fatal')
_LEVEL_ALIASES = {'warn': 'warning', 'critical': 'fatal'}
FIELDS = (
    'id',
    'type',
    'level',
    'message',
    'exception',
    'stacktrace',
    'environment',
    'release',
    'tags',
    'user',
    'metadata',
    'fingerprint',
    'timestamp',
)
USER_FIELDS = ('id', 'email', 'username', 'ip_address')
FRAME_TEXT_LIMITS = {'filename': 1024, 'abs_path': 1024, 'function': 256, 'module': 256, 'context_line': 1024}

MAX_TYPE_CHARS = 100
MAX_MESSAGE_CHARS = 8192
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 10
MAX_VALUE_CHARS = 8192  # a longer string in metadata is cut, so one huge variable does not cost the whole object
MAX_VALUE_ITEMS = 500  # items kept of one list or dict in metadata
MAX_TAGS = 50
MAX_TAG_KEY_CHARS = 64
MAX_TAG_VALUE_CHARS = 200
MAX_USER_FIELD_CHARS = 200
MAX_FINGERPRINT_PARTS = 10
MAX_FINGERPRINT_PART_CHARS = 200
MAX_EXCEPTION_TYPE_CHARS = 256
MAX_EXCEPTION_MODULE_CHARS = 256
MAX_CHAIN = 10
MAX_FRAMES = 250
MAX_CONTEXT_LINES = 10

_NAME_OUTSIDE_CHARSET = re.compile(r'[^A-Za-z0-9_.:\-]')
_CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]')


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with milliseconds, e.g. 2026-11-26T07:00:00.123Z."""
    return datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def normalize_level(level: Any) -> str | None:
    """The protocol's name for a level ('WARN' → 'warning'), or None when it is not one."""
    if not isinstance(level, str):
        return None
    name = level.strip().lower()
    name = _LEVEL_ALIASES.get(name, name)
    return name if name in LEVELS else None


def clean_name(value: Any, max_chars: int) -> str:
    """A type or tag key in the protocol's character set: other characters become '_'."""
    return _NAME_OUTSIDE_CHARSET.sub('_', str(value))[:max_chars]


def tag_value(value: Any) -> str:
    # JSON spells booleans in lower case; str(True) would give 'True'. The server refuses control characters.
    text = ('true' if value else 'false') if isinstance(value, bool) else str(value)
    return _CONTROL_CHARS.sub(' ', text)[:MAX_TAG_VALUE_CHARS]


def clean_tags(tags: Any) -> dict:
    """Tags as str → str within the protocol's limits; a None value removes the tag."""
    if not isinstance(tags, dict):
        return {}
    cleaned = {}
    for key, value in tags.items():
        name = clean_name(key, MAX_TAG_KEY_CHARS)
        if value is None or not name:
            continue
        if len(cleaned) >= MAX_TAGS:
            logger.warning('pulsekit: more than %d tags on one event; the rest were dropped', MAX_TAGS)
            break
        cleaned[name] = tag_value(value)
    return cleaned


def json_safe(value: Any, depth: int = 0) -> Any:
    """A copy of value made of JSON types only; anything else becomes its repr().

    The server counts the metadata object as level 1 and refuses any value, even a number, below
    level 10: a container that would hold one is replaced by its repr() string.
    """
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + '…'
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_METADATA_DEPTH - 1:
        return _safe_repr(value)
    if isinstance(value, dict):
        items = list(value.items())[:MAX_VALUE_ITEMS] if len(value) > MAX_VALUE_ITEMS else value.items()
        return {str(key): json_safe(item, depth + 1) for key, item in items}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)[:MAX_VALUE_ITEMS] if len(value) > MAX_VALUE_ITEMS else value
        return [json_safe(item, depth + 1) for item in items]
    text = _safe_repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + '…'


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f'<unprintable {type(value).__name__}>'


def clean_metadata(metadata: Any) -> dict | None:
    """Metadata as a JSON object of at most 64 KiB; a larger one is replaced by a note saying so."""
    if metadata is None:
        return None
    safe = json_safe(metadata if isinstance(metadata, dict) else {'value': metadata})
    size = _json_size(safe)
    while size > MAX_METADATA_BYTES and safe.get('breadcrumbs'):
        # Breadcrumbs give way first, the oldest half at a time: the event's own data matters more.
        crumbs = safe['breadcrumbs']
        safe['breadcrumbs'] = crumbs[len(crumbs) // 2 + 1 :] if isinstance(crumbs, list) else None
        if not safe['breadcrumbs']:
            del safe['breadcrumbs']
        size = _json_size(safe)
    if size > MAX_METADATA_BYTES:
        logger.warning('pulsekit: metadata of %d bytes exceeds %d and was dropped', size, MAX_METADATA_BYTES)
        return {'pulsekit_dropped_metadata_bytes': size}
    return safe


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(',', ':')).encode('utf-8', 'replace'))


def clean_user(user: Any) -> dict | None:
    if not isinstance(user, dict):
        return None
    cleaned = {key: str(user[key])[:MAX_USER_FIELD_CHARS] for key in USER_FIELDS if user.get(key) is not None}
    return cleaned or None


def clean_fingerprint(fingerprint: Any) -> list | None:
    if not isinstance(fingerprint, (list, tuple)) or not fingerprint:
        return None
    return [str(part)[:MAX_FINGERPRINT_PART_CHARS] for part in fingerprint[:MAX_FINGERPRINT_PARTS]]


def clean_stacktrace(stacktrace: Any) -> dict | None:
    """Keep the 250 frames closest to the failure and only fields of the right type and length."""
    frames = stacktrace.get('frames') if isinstance(stacktrace, dict) else None
    if not isinstance(frames, list):
        return None
    return {'frames': [_clean_frame(frame) for frame in frames[-MAX_FRAMES:] if isinstance(frame, dict)]}


def _clean_frame(frame: dict) -> dict:
    cleaned: dict = {}
    for key, limit in FRAME_TEXT_LIMITS.items():
        if isinstance(frame.get(key), str):
            cleaned[key] = frame[key][:limit]
    for key in ('lineno', 'colno'):
        value = frame.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            cleaned[key] = value
    if isinstance(frame.get('in_app'), bool):
        cleaned['in_app'] = frame['in_app']
    for key in ('pre_context', 'post_context'):
        if isinstance(frame.get(key), list):
            lines = [line for line in frame[key] if isinstance(line, str)]
            cleaned[key] = [line[: FRAME_TEXT_LIMITS['context_line']] for line in lines[-MAX_CONTEXT_LINES:]]
    return cleaned


def clean_exception(exception: Any, is_chained: bool = False) -> dict | None:
    if not isinstance(exception, dict) or not exception.get('type'):
        return None
    cleaned = {'type': str(exception['type'])[:MAX_EXCEPTION_TYPE_CHARS]}
    if exception.get('value') is not None:
        cleaned['value'] = str(exception['value'])[:MAX_MESSAGE_CHARS]
    if exception.get('module') is not None:
        cleaned['module'] = str(exception['module'])[:MAX_EXCEPTION_MODULE_CHARS]
    if is_chained:
        stacktrace = clean_stacktrace(exception.get('stacktrace'))
        if stacktrace:
            cleaned['stacktrace'] = stacktrace
    elif isinstance(exception.get('chain'), list):
        chain = [clean_exception(entry, is_chained=True) for entry in exception['chain'][:MAX_CHAIN]]
        if any(chain):
            cleaned['chain'] = [entry for entry in chain if entry]
    return cleaned


def clean_event(event: dict) -> dict:
    """The event with only protocol fields, each valid: what the server will accept."""
    unknown = [key for key in event if key not in FIELDS]
    if unknown:
        logger.warning('pulsekit: dropped fields the protocol does not know: %s', ', '.join(map(str, unknown)))
    exception = clean_exception(event.get('exception'))
    default_level = 'error' if exception else 'info'
    level = normalize_level(event.get('level')) or default_level
    default_type = 'error' if exception or level in ('error', 'fatal') else 'message'
    cleaned: dict = {
        'id': str(event['id']) if event.get('id') else None,
        'type': clean_name(event.get('type') or default_type, MAX_TYPE_CHARS) or default_type,
        'level': level,
        'message': str(event['message'])[:MAX_MESSAGE_CHARS] if event.get('message') is not None else None,
        'exception': exception,
        'stacktrace': clean_stacktrace(event.get('stacktrace')) if exception else None,
        'environment': _clean_label(event.get('environment'), 64, forbid_slash=True),
        'release': _clean_label(event.get('release'), 200),
        'tags': clean_tags(event.get('tags')) or None,
        'user': clean_user(event.get('user')),
        'metadata': clean_metadata(event.get('metadata')),
        'fingerprint': clean_fingerprint(event.get('fingerprint')),
        'timestamp': event.get('timestamp') if isinstance(event.get('timestamp'), (str, int, float)) else None,
    }
    # Absent rather than null: the wire stays small and every SDK emits the same shape.
    return {key: value for key, value in cleaned.items() if value is not None}


def _clean_label(value: Any, max_chars: int, forbid_slash: bool = False) -> str | None:
    if value is None:
        return None
    text = _CONTROL_CHARS.sub('', str(value))[:max_chars]
    if forbid_slash:
        text = text.replace('/', '-')
    return text or None
