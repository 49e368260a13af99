"""Map a Sentry event (https://develop.sentry.dev/sdk/data-model/event-payloads/) to a native event.

The output follows docs/protocol.md ("The event object") and then goes through the same
validation and normalisation as an event sent to `/api/v1/events`. Sentry accepts more
than our protocol does (longer tag keys, unbounded extra data, …), so everything here is
clipped or sanitised rather than refused: a valid Sentry event must never get a 422.
The mapping itself is documented in docs/protocol.md, section "Sentry events".
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from pulsekit.events.schema import (
    MAX_CHAIN,
    MAX_CONTEXT_LINES,
    MAX_ENVIRONMENT_CHARS,
    MAX_EXCEPTION_TYPE_CHARS,
    MAX_FINGERPRINT_PART_CHARS,
    MAX_FINGERPRINT_PARTS,
    MAX_FRAMES,
    MAX_FUNCTION_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_MODULE_CHARS,
    MAX_PATH_CHARS,
    MAX_RELEASE_CHARS,
    MAX_SOURCE_LINE_CHARS,
    MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS,
    MAX_TAGS,
    MAX_USER_FIELD_CHARS,
)
from pulsekit.sentry.metadata import fit_metadata

MAX_CONTEXT_LINE_CHARS = MAX_SOURCE_LINE_CHARS
MAX_TIMESTAMP_S = 32503680000  # year 3000: the native validator's upper bound for epoch seconds
MAX_BREADCRUMBS = 100  # Sentry SDKs keep 100 by default

LEVELS = {
    'debug': 'debug',
    'info': 'info',
    'log': 'info',  # JavaScript's console.log severity
    'warning': 'warning',
    'warn': 'warning',
    'error': 'error',
    'fatal': 'fatal',
    'critical': 'fatal',
}
USER_FIELDS = ('id', 'email', 'username', 'ip_address')
DEFAULT_FINGERPRINT = '{{ default }}'
# Sentry-interface aliases used by old SDKs (raven) for the top-level keys.
LEGACY_KEYS = {
    'sentry.interfaces.Exception': 'exception',
    'sentry.interfaces.Message': 'logentry',
    'sentry.interfaces.Stacktrace': 'stacktrace',
    'sentry.interfaces.Http': 'request',
    'sentry.interfaces.User': 'user',
}
# Top-level Sentry fields kept in the native event's metadata, under the same names.
METADATA_FIELDS = (
    'platform',
    'sdk',
    'contexts',
    'request',
    'extra',
    'server_name',
    'logger',
    'transaction',
    'dist',
    'modules',
)

_TAG_KEY_BAD_CHARS = re.compile(r'[^A-Za-z0-9_.:-]')
_CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]')
_HEX_ID = re.compile(r'^[0-9a-fA-F]{32}$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
_PRINTF = re.compile(r'%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]')
_MAX_INT = 2**64 - 1  # orjson's integer range


def map_sentry_event(
    event: dict,
    *,
    client_ip: str | None = None,
    event_id: str | None = None,
    fit: bool = True,
    frames_of: Callable[[object], list[dict]] | None = None,
) -> dict:
    """Turn one Sentry event dict into a native PulseKit event dict (see docs/protocol.md).

    With `fit=False` the metadata is not clipped to the native limits: for callers that
    validate anyway and clip only when validation refuses it (the ingest hot path). `frames_of`
    maps a stacktrace to native frames; sentry/decode.py passes frames it already mapped.
    """
    frames_of = frames_of or _frames_of
    event = {LEGACY_KEYS.get(key, key): value for key, value in event.items()}
    native: dict = {}
    event_id = _string(event.get('event_id')) or event_id
    if event_id and _HEX_ID.match(event_id):
        native['id'] = event_id

    exceptions = _exception_values(event.get('exception'))
    synthetic = exceptions[-1] if exceptions and _is_synthetic_message_stack(exceptions[-1]) else None
    if synthetic:
        exceptions = []  # a message with an attached stack (captureMessage in JavaScript SDKs), not an error
    primary = _map_exception(exceptions[-1], event, frames_of) if exceptions else None
    level = LEVELS.get((_string(event.get('level')) or '').lower())
    if level is None:
        level = 'error' if primary else 'info'
    if primary:
        exception, frames = primary
        exception['chain'] = [_chain_entry(value, event, frames_of) for value in reversed(exceptions[:-1])][:MAX_CHAIN]
        if not exception['chain']:
            del exception['chain']
        native['exception'] = exception
    else:
        frames = frames_of((synthetic or {}).get('stacktrace') or event.get('stacktrace'))
        frames = frames or frames_of(_thread_stacktrace(event, None))
    native['type'] = 'error' if primary or level in ('error', 'fatal') else 'message'
    native['level'] = level
    message = _message(event)
    if message is None and primary:
        message = primary[0].get('value') or primary[0]['type']
    if message:
        native['message'] = message[:MAX_MESSAGE_CHARS]
    if frames:
        native['stacktrace'] = {'frames': frames}

    environment = _clean_name(event.get('environment'), MAX_ENVIRONMENT_CHARS, slash=True)
    if environment:
        native['environment'] = environment
    release = _clean_name(event.get('release'), MAX_RELEASE_CHARS)
    if release:
        native['release'] = release
    timestamp = _timestamp(event.get('timestamp'))
    if timestamp is not None:
        native['timestamp'] = timestamp

    metadata: dict = {}
    tags, dropped_tags = _tags(event.get('tags'))
    if tags:
        native['tags'] = tags
    if dropped_tags:
        metadata['dropped_tags'] = dropped_tags
    user, user_rest = _user(event.get('user'), client_ip)
    if user:
        native['user'] = user
    if user_rest:
        metadata['user'] = user_rest
    fingerprint = _fingerprint(event.get('fingerprint'))
    if fingerprint:
        native['fingerprint'] = fingerprint

    for name in METADATA_FIELDS:
        value = event.get(name)
        if value not in (None, '', {}, []):
            metadata[name] = value
    breadcrumbs = _breadcrumbs(event.get('breadcrumbs'))
    if breadcrumbs:
        metadata['breadcrumbs'] = breadcrumbs
    if primary and isinstance(exceptions[-1].get('mechanism'), dict):
        metadata['mechanism'] = exceptions[-1]['mechanism']
    if fit:
        metadata = fit_metadata(metadata)
    if metadata:
        native['metadata'] = metadata
    return native


# --- exceptions and frames ---------------------------------------------------------------


def _exception_values(exception: object) -> list[dict]:
    """Sentry's `exception` is `{"values": [...]}` (or a bare list, or one value in old SDKs), oldest first."""
    if isinstance(exception, dict):
        values = exception.get('values') if 'values' in exception else [exception]
    else:
        values = exception
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, dict) and (v.get('type') or v.get('value') or v.get('stacktrace'))]


def _is_synthetic_message_stack(value: dict) -> bool:
    """JavaScript SDKs attach a message's stack as a type-less exception flagged `synthetic`."""
    mechanism = value.get('mechanism')
    return not value.get('type') and isinstance(mechanism, dict) and mechanism.get('synthetic') is True


def _map_exception(value: dict, event: dict, frames_of: Callable) -> tuple[dict, list[dict]]:
    exception: dict = {'type': (_string(value.get('type')) or 'Error')[:MAX_EXCEPTION_TYPE_CHARS]}
    text = _string(value.get('value'))
    if text:
        exception['value'] = text[:MAX_MESSAGE_CHARS]
    module = _string(value.get('module'))
    if module:
        exception['module'] = module[:MAX_MODULE_CHARS]
    stacktrace = value.get('stacktrace') or _thread_stacktrace(event, value.get('thread_id'))
    return exception, frames_of(stacktrace)


def _chain_entry(value: dict, event: dict, frames_of: Callable) -> dict:
    entry, frames = _map_exception(value, event, frames_of)
    if frames:
        entry['stacktrace'] = {'frames': frames}
    return entry


def _thread_stacktrace(event: dict, thread_id: object) -> object:
    """The stacktrace of the thread an exception names, else of the crashed or current thread."""
    threads = event.get('threads')
    values = threads.get('values') if isinstance(threads, dict) else threads
    if not isinstance(values, list):
        return None
    threads = [t for t in values if isinstance(t, dict) and isinstance(t.get('stacktrace'), dict)]
    for wanted in (
        lambda t: thread_id is not None and t.get('id') == thread_id,
        lambda t: t.get('crashed') is True,
        lambda t: t.get('current') is True,
    ):
        for thread in threads:
            if wanted(thread):
                return thread['stacktrace']
    return threads[0]['stacktrace'] if len(threads) == 1 else None


def _frames_of(stacktrace: object) -> list[dict]:
    if not isinstance(stacktrace, dict) or not isinstance(stacktrace.get('frames'), list):
        return []
    # Oldest first in both protocols: keep the frames closest to the failure.
    return [_frame(f) for f in stacktrace['frames'][-MAX_FRAMES:] if isinstance(f, dict)]


_FRAME_TEXT = (
    ('filename', MAX_PATH_CHARS),
    ('abs_path', MAX_PATH_CHARS),
    ('function', MAX_FUNCTION_CHARS),
    ('module', MAX_MODULE_CHARS),
    ('context_line', MAX_CONTEXT_LINE_CHARS),
)


def _frame(frame: dict) -> dict:
    # Hot: every frame of every Sentry event passes here, so plain type checks, no helpers.
    native: dict = {}
    for name, limit in _FRAME_TEXT:
        text = frame.get(name)
        if type(text) is str and text:
            native[name] = text if len(text) <= limit else text[:limit]
    if 'filename' not in native and 'abs_path' in native:
        native['filename'] = native['abs_path']
    for name in ('lineno', 'colno'):
        number = frame.get(name)
        if type(number) is int and 0 <= number <= _MAX_INT:
            native[name] = number
    in_app = frame.get('in_app')
    if type(in_app) is bool:
        native['in_app'] = in_app
    pre = frame.get('pre_context')
    if type(pre) is list:
        native['pre_context'] = _lines(pre[-MAX_CONTEXT_LINES:])  # the lines nearest the failing line
    post = frame.get('post_context')
    if type(post) is list:
        native['post_context'] = _lines(post[:MAX_CONTEXT_LINES])
    return native


def _lines(lines: list) -> list[str]:
    if all(type(line) is str and len(line) <= MAX_CONTEXT_LINE_CHARS for line in lines):
        return lines
    return [(line if isinstance(line, str) else '')[:MAX_CONTEXT_LINE_CHARS] for line in lines]


# --- message, tags, user, fingerprint, scalars ----------------------------------------------


def _message(event: dict) -> str | None:
    """`logentry` (formatted, or its template filled with its params), else `message` (a string or a logentry)."""
    for candidate in (event.get('logentry'), event.get('message')):
        if isinstance(candidate, str) and candidate:
            return candidate
        if isinstance(candidate, dict):
            formatted = _string(candidate.get('formatted'))
            if formatted:
                return formatted
            template = _string(candidate.get('message'))
            if template:
                return format_logentry(template, candidate.get('params'))
    return None


def format_logentry(template: str, params: object) -> str:
    """Fill `%s`-style placeholders (positional or `%(name)s`) as logging does; the template as is on failure."""
    if not params or not isinstance(params, list | dict):
        return template
    position = 0

    def substitute(match: re.Match) -> str:
        nonlocal position
        spec = match.group(0)
        if spec == '%%':
            return '%'
        name = match.group(1)
        if name is not None:
            if not isinstance(params, dict) or name not in params:
                raise LookupError(name)
            value = params[name]
        else:
            if not isinstance(params, list) or position >= len(params):
                raise LookupError(position)
            value = params[position]
            position += 1
        return value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    try:
        return _PRINTF.sub(substitute, template)
    except (LookupError, TypeError, orjson.JSONEncodeError):
        return template


def _tags(tags: object) -> tuple[dict[str, str], dict[str, str]]:
    """Sentry tags are an object or a list of `[key, value]` pairs; keys are sanitised to the native charset."""
    if isinstance(tags, dict):
        pairs = list(tags.items())
    elif isinstance(tags, list):
        pairs = [tuple(p) for p in tags if isinstance(p, list | tuple) and len(p) == 2]
    else:
        return {}, {}
    kept: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        if not isinstance(raw_key, str) or raw_value is None:
            continue
        key = _TAG_KEY_BAD_CHARS.sub('_', raw_key.strip())[:MAX_TAG_KEY_CHARS]
        value = _scalar_text(raw_value)
        if not key or value is None or key in kept:
            continue
        value = _CONTROL_CHARS.sub(' ', value)[:MAX_TAG_VALUE_CHARS]
        if len(kept) < MAX_TAGS:
            kept[key] = value
        else:
            dropped[key] = value
    return kept, dropped


def _user(user: object, client_ip: str | None) -> tuple[dict[str, str], dict]:
    """The four native user fields; everything else Sentry sends (name, geo, data, …) goes to metadata."""
    if not isinstance(user, dict):
        return {}, {}
    native: dict[str, str] = {}
    for name in USER_FIELDS:
        value = _scalar_text(user.get(name))
        if name == 'ip_address' and value == '{{auto}}':
            value = client_ip  # browser SDKs ask the server to fill in the sender's address
        if value:
            native[name] = value[:MAX_USER_FIELD_CHARS]
    rest = {k: v for k, v in user.items() if k not in USER_FIELDS and v not in (None, '', {}, [])}
    return native, rest


def _fingerprint(fingerprint: object) -> list[str] | None:
    """Sentry fingerprints map one to one; `{{default}}` in any spacing becomes the native `{{ default }}`."""
    if not isinstance(fingerprint, list):
        return None
    parts = []
    for part in fingerprint:
        text = _scalar_text(part)
        if text is None:
            continue
        if text.replace(' ', '').lower() == '{{default}}':
            text = DEFAULT_FINGERPRINT
        elif len(text) > MAX_FINGERPRINT_PART_CHARS:
            text = 'sha256:' + hashlib.sha256(text.encode()).hexdigest()  # distinct stays distinct
        parts.append(text)
    if len(parts) > MAX_FINGERPRINT_PARTS:
        rest = '\x00'.join(parts[MAX_FINGERPRINT_PARTS - 1 :])
        parts = [*parts[: MAX_FINGERPRINT_PARTS - 1], 'sha256:' + hashlib.sha256(rest.encode()).hexdigest()]
    return parts or None


def _clean_name(value: object, limit: int, slash: bool = False) -> str | None:
    text = _scalar_text(value)
    if text is None:
        return None
    text = _CONTROL_CHARS.sub('', text)
    if slash:
        text = text.replace('/', '-')
    return text.strip()[:limit] or None


def _timestamp(value: object) -> str | float | None:
    """Epoch seconds pass through; RFC 3339 without an offset (older SDKs) is UTC, as Sentry reads it.

    An unusable timestamp (not a time, or out of range once its offset is applied, such as
    0001-01-01T00:00:00+14:00) gives None: the event keeps the time it was received, as Sentry
    refuses no event for its timestamp. The range is the native one for epoch seconds: 1970 to 3000.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) and 0 < value < MAX_TIMESTAMP_S else None
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if not 0 < moment.timestamp() < MAX_TIMESTAMP_S:
        return None
    return moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int | float) and not (isinstance(value, float) and not math.isfinite(value)):
        return str(value)
    return None


def _breadcrumbs(breadcrumbs: object) -> list:
    values = breadcrumbs.get('values') if isinstance(breadcrumbs, dict) else breadcrumbs
    if not isinstance(values, list):
        return []
    return [b for b in values if isinstance(b, dict)][-MAX_BREADCRUMBS:]
