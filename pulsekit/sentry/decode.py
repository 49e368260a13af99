"""Sentry event payloads to native events, fast: one msgspec pass parses the JSON and checks every
frame (the bulk of an error event) in compiled code, as events/decode.py does for native bodies.

The slow path (`parse_event_payload`, then `map_sentry_event` and the protocol's own validation in
intake.py) stays the definition. This pass takes only the usual shapes: frames whose fields are
what the mapping keeps unchanged (non-empty text within the native caps, line numbers that fit 64
bits, at most 10 context lines), `exception` as `{"values": [...]}`, no legacy interface names, no
`threads`. For those it produces exactly what the slow path produces (tests/sentry/test_decode.py
compares the two); for anything else it returns None and the caller takes the slow path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta, Raw, Struct, field

from pulsekit.events import schema

_MAX_INT64 = 2**63 - 1  # msgspec bounds fit int64; the mapping keeps up to 2**64 - 1 (the slow path)


def _text(limit: int):
    # min_length 1: the mapping drops empty strings, which a struct field would keep.
    return Annotated[str, Meta(min_length=1, max_length=limit)]


_Number = Annotated[int, Meta(ge=0, le=_MAX_INT64)]
_Lines = Annotated[list[Annotated[str, Meta(max_length=schema.MAX_SOURCE_LINE_CHARS)]], Meta(max_length=10)]


class _Frame(Struct, omit_defaults=True):  # field order = schema._frame's output order
    filename: _text(schema.MAX_PATH_CHARS) | None = None
    abs_path: _text(schema.MAX_PATH_CHARS) | None = None
    function: _text(schema.MAX_FUNCTION_CHARS) | None = None
    module: _text(schema.MAX_MODULE_CHARS) | None = None
    lineno: _Number | None = None
    colno: _Number | None = None
    in_app: bool | None = None
    context_line: _text(schema.MAX_SOURCE_LINE_CHARS) | None = None
    pre_context: _Lines | None = None
    post_context: _Lines | None = None


class _Stacktrace(Struct):
    frames: Annotated[list[_Frame], Meta(max_length=schema.MAX_FRAMES)]


class _ExceptionValue(Struct):
    type: str | None = None
    value: str | None = None
    module: str | None = None
    stacktrace: _Stacktrace | None = None
    mechanism: object = None
    thread_id: object = None


class _Exceptions(Struct):
    values: list[_ExceptionValue]


class _Event(Struct):
    # Read by the mapping's own helpers, whatever their type.
    event_id: object = None
    level: object = None
    logentry: object = None
    message: object = None
    environment: object = None
    release: object = None
    timestamp: object = None
    tags: object = None
    user: object = None
    fingerprint: object = None
    breadcrumbs: object = None
    platform: object = None
    sdk: object = None
    contexts: object = None
    request: object = None
    extra: object = None
    server_name: object = None
    logger: object = None
    transaction: object = None
    dist: object = None
    modules: object = None
    # Checked here.
    exception: _Exceptions | None = None
    stacktrace: _Stacktrace | None = None
    # Present: the slow path decides (frames taken from threads, old interface names).
    threads: Raw = Raw()
    legacy_exception: Raw = field(default=Raw(), name='sentry.interfaces.Exception')
    legacy_message: Raw = field(default=Raw(), name='sentry.interfaces.Message')
    legacy_stacktrace: Raw = field(default=Raw(), name='sentry.interfaces.Stacktrace')
    legacy_http: Raw = field(default=Raw(), name='sentry.interfaces.Http')
    legacy_user: Raw = field(default=Raw(), name='sentry.interfaces.User')


_decoder = msgspec.json.Decoder(_Event)
_to_builtins = msgspec.to_builtins
_MAPPED_FIELDS = _Event.__struct_fields__[: _Event.__struct_fields__.index('exception')]  # read as they are


def _stacktrace(value: _Stacktrace | None) -> dict | None:
    # A dict, as the mapping sees a stacktrace: {"frames": []} is there (truthy), not absent.
    return None if value is None else {'frames': _to_builtins(value.frames)}


def premapped_frames(stacktrace: object) -> list[dict]:
    """The mapping's `frames_of` for stacktraces decoded here: their frames are native already."""
    if not stacktrace:
        return []
    frames = stacktrace['frames']
    for frame in frames:
        if 'filename' not in frame and 'abs_path' in frame:
            frame['filename'] = frame['abs_path']
    return frames


def decode_sentry_event(payload: bytes) -> dict | None:
    """The payload as the mapping's input (stacktraces with native frames), or None: take the slow path."""
    try:
        decoded = _decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError):  # ValidationError included: a shape this pass does not take
        return None
    if decoded.threads or decoded.legacy_exception or decoded.legacy_message or decoded.legacy_stacktrace:
        return None
    if decoded.legacy_http or decoded.legacy_user:
        return None
    event = {name: getattr(decoded, name) for name in _MAPPED_FIELDS}
    if decoded.exception is not None:
        event['exception'] = {
            'values': [
                {
                    'type': value.type,
                    'value': value.value,
                    'module': value.module,
                    'stacktrace': _stacktrace(value.stacktrace),
                    'mechanism': value.mechanism,
                    'thread_id': value.thread_id,
                }
                for value in decoded.exception.values
            ]
        }
    event['stacktrace'] = _stacktrace(decoded.stacktrace)
    return event


def assemble(native: dict, received_at: datetime) -> dict:
    """The normalised event of a mapping of `decode_sentry_event`'s output: its exception and frames
    are valid by construction, the other fields are checked by the protocol's own code."""
    return schema.assemble_event(native.get, native.get('exception'), native.get('stacktrace'), received_at)
