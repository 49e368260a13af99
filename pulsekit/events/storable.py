"""What makes an event impossible to store, found and named for the client.

Text is stored as UTF-8, and a lone UTF-16 surrogate ('\\ud800' without its pair) has no UTF-8
form: SQLite's driver and orjson both raise on it. Such text must never reach the writer's
shared commit (one unstorable event used to fail every request committed beside it), so
native decoding refuses it with the path of the value, and the writer, whatever slipped
through, fails only the request that carried it.

NUL (U+0000) is text, but PostgreSQL stores it neither in text nor in jsonb. It is replaced with
U+FFFD on both databases, so an event reads back the same whichever one an instance runs on. In
JSON a NUL is always written `\u0000`, so a body without those six bytes needs no look (the hot path).
"""

from __future__ import annotations

from typing import Any

from ..errors import Conflict, InvalidField

# The fields of a normalised event that come from the client (the rest is derived from them).
EVENT_FIELDS = ('id', 'type', 'level', 'message', 'exception', 'stacktrace', 'metadata', 'environment', 'release',
                'tags', 'user', 'fingerprint')  # fmt: skip


NUL = '\x00'
NUL_IN_JSON = b'\\u0000'


def without_nul(value: Any) -> Any:
    """`value` with every NUL in its strings (dict keys included) replaced with U+FFFD."""
    if isinstance(value, str):
        return value.replace(NUL, '\ufffd') if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return True
    return False


def escape_surrogates(text: str) -> str:
    """`text` with each lone surrogate written as its escape (`\\ud800`), so that it can be sent back."""
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def lone_surrogate_path(value: Any, path: str = '') -> str | None:
    """The path (`tags.region`, `stacktrace.frames[2].function`) of the first string, key or value,
    holding a lone surrogate; None when every string has a UTF-8 form."""
    if isinstance(value, str):
        return (path or None) if has_lone_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and has_lone_surrogate(key):
                key = escape_surrogates(key)  # the path goes back in a JSON answer, so it must be text
                return f'{path}.{key}' if path else key
            child = f'{path}.{key}' if path else str(key)
            found = lone_surrogate_path(item, child)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = lone_surrogate_path(item, f'{path}[{i}]')
            if found:
                return found
    return None


def surrogate_error(path: str) -> InvalidField:
    return InvalidField(
        f'{path} contains a lone UTF-16 surrogate (e.g. "\\ud800" without its pair), which is not text; '
        'send valid Unicode',
        path,
    )


def event_path(index: int, is_batch: bool, field: str) -> str:
    """How the protocol names a field of the index-th event of a request: `message`, `events[3].message`."""
    return f'events[{index}].{field}' if is_batch else field


def unstorable_event_error(events: list[dict], is_batch: bool) -> InvalidField | None:
    """The 422 for the first event of a request that cannot be stored because of its text, if any."""
    for i, event in enumerate(events):
        found = lone_surrogate_path({name: event.get(name) for name in EVENT_FIELDS})
        if found:
            return surrogate_error(event_path(i, is_batch, found))
    return None


def id_conflict(events: list[dict], taken: set[str], is_batch: bool) -> Conflict | None:
    """The 409 for the first event whose id (hex) is `taken` by another project, if any."""
    for i, event in enumerate(events):
        if event['id'].hex in taken:
            return Conflict(
                f'event id {event["id"]} is already used by another project; event ids are unique across '
                'the instance: send a new UUID',
                event_path(i, is_batch, 'id'),
            )
    return None
