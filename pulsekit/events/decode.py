"""Native request bodies to normalised events, fast: one msgspec pass parses the JSON and checks
the costly part (exception, stacktrace, every frame) in compiled code.

`schema.normalize_event` stays the definition of the protocol. The structs here accept a subset
of what it accepts (text over a cap is refused here where schema truncates it; numbers past
63 bits are refused too, as orjson reads the largest ones as floats) and produce exactly what it produces
(tests/test_event_decode.py compares the two). Whatever this pass refuses, for whatever reason,
goes through orjson and `schema` again, which accepts it or says precisely what is wrong.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import msgspec
import orjson
from msgspec import Meta, Raw, Struct

from ..errors import InvalidJson
from . import schema
from .storable import lone_surrogate_path, surrogate_error

INT64_MAX = 2**63 - 1  # msgspec's bound; orjson reads up to 2**64 - 1 as integers, beyond as floats


def _text(limit: int, min_length: int = 0):
    return Annotated[str, Meta(min_length=min_length, max_length=limit)]


Count = Annotated[int, Meta(ge=0, le=INT64_MAX)]
SourceLine = _text(schema.MAX_SOURCE_LINE_CHARS)
SourceLines = Annotated[list[SourceLine], Meta(max_length=schema.MAX_CONTEXT_LINES)]


class _Frame(Struct, omit_defaults=True):  # field order = schema._frame's output order
    filename: _text(schema.MAX_PATH_CHARS) | None = None
    abs_path: _text(schema.MAX_PATH_CHARS) | None = None
    function: _text(schema.MAX_FUNCTION_CHARS) | None = None
    module: _text(schema.MAX_MODULE_CHARS) | None = None
    lineno: Count | None = None
    colno: Count | None = None
    in_app: bool | None = None
    context_line: SourceLine | None = None
    pre_context: SourceLines | None = None
    post_context: SourceLines | None = None


class _Stacktrace(Struct):
    frames: Annotated[list[_Frame], Meta(max_length=schema.MAX_FRAMES)]


class _ChainedException(Struct, forbid_unknown_fields=True, omit_defaults=True):
    type: _text(schema.MAX_EXCEPTION_TYPE_CHARS, min_length=1)
    value: _text(schema.MAX_MESSAGE_CHARS) | None = None
    module: _text(schema.MAX_MODULE_CHARS) | None = None
    stacktrace: _Stacktrace | None = None


class _Exception(Struct, forbid_unknown_fields=True):
    type: _text(schema.MAX_EXCEPTION_TYPE_CHARS, min_length=1)
    value: _text(schema.MAX_MESSAGE_CHARS) | None = None
    module: _text(schema.MAX_MODULE_CHARS) | None = None
    chain: Annotated[list[_ChainedException], Meta(max_length=schema.MAX_CHAIN)] | None = None
    stacktrace: Raw = Raw()  # allowed at the top of an exception, and ignored (the event has its own)


class _Event(Struct, forbid_unknown_fields=True):
    # Checked by schema's own helpers once decoded: text as is (a value of another type is refused
    # here, and schema decides), the rest kept raw and read by orjson, so that its values are
    # exactly what orjson gives schema (e.g. large numbers in metadata).
    id: str | None = None
    type: str | None = None
    level: str | None = None
    message: str | None = None
    environment: str | None = None
    release: str | None = None
    metadata: Raw = Raw()
    tags: Raw = Raw()
    timestamp: Raw = Raw()
    fingerprint: Raw = Raw()
    user: Raw = Raw()
    # Checked here.
    exception: _Exception | None = None
    stacktrace: _Stacktrace | None = None


class _Batch(Struct, forbid_unknown_fields=True):
    events: list[_Event]


_TEXT_FIELDS = ('id', 'type', 'level', 'message', 'environment', 'release')
_RAW_FIELDS = ('metadata', 'tags', 'timestamp', 'fingerprint', 'user')
_event_decoder = msgspec.json.Decoder(_Event)
_batch_decoder = msgspec.json.Decoder(_Batch)
_to_builtins = msgspec.to_builtins


def parse_json(body: bytes):
    """Any JSON document (orjson), or InvalidJson saying what is wrong with it.

    orjson refuses lone UTF-16 surrogates (`"\\ud800"`), text that cannot be stored. When that is the
    only fault, the answer is a 422 naming the field, as for any other unusable value."""
    if not body:
        raise InvalidJson('the body is empty; send a JSON document')
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if 'surrogate' in str(exc):
            _raise_surrogate_field(body)
        raise InvalidJson(f'the body is not valid JSON: {exc}') from None


def _raise_surrogate_field(body: bytes) -> None:
    """Raise the 422 for the field holding a lone surrogate, if the body is JSON apart from that."""
    try:
        document = json.loads(body)  # the standard library keeps lone surrogates as they are
    except (ValueError, RecursionError):
        return
    path = lone_surrogate_path(document)
    if path is not None:
        raise surrogate_error(path)


def decode_event(body: bytes, received_at: datetime) -> dict:
    """One event body → the event `schema.normalize_event` makes of it (or its InvalidJson/InvalidField)."""
    try:
        return _normalized(_event_decoder.decode(body), received_at)
    except Exception:  # refused or unsure here: the protocol's own checks decide, and phrase the error
        return schema.normalize_event(parse_json(body), received_at)


def decode_batch(body: bytes, received_at: datetime, max_events: int) -> list[dict]:
    """A `{"events": [...]}` body → `schema.normalize_batch`'s events (or its error)."""
    try:
        events = _batch_decoder.decode(body).events
        if 1 <= len(events) <= max_events:
            return [_normalized(event, received_at) for event in events]
    except Exception:
        pass
    return schema.normalize_batch(parse_json(body), received_at, max_events)


def _normalized(event: _Event, received_at: datetime) -> dict:
    exception = None
    if event.exception is not None:
        raw = event.exception
        exception = {'type': raw.type}
        if raw.value is not None:
            exception['value'] = raw.value
        if raw.module is not None:
            exception['module'] = raw.module
        if raw.chain is not None:
            exception['chain'] = [_to_builtins(entry) for entry in raw.chain]
    stacktrace = None if event.stacktrace is None else _to_builtins(event.stacktrace)

    values = {name: getattr(event, name) for name in _TEXT_FIELDS}
    for name in _RAW_FIELDS:
        raw = getattr(event, name)
        if raw:
            values[name] = orjson.loads(memoryview(raw))
    return schema.assemble_event(values.get, exception, stacktrace, received_at)
