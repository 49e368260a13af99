"""Sentry envelopes: bytes → header + items, per https://develop.sentry.dev/sdk/data-model/envelopes/.

An envelope is one JSON header line, then items: each an item-header line (JSON, with a
`type` and an optional `length`) followed by its payload. With `length` the payload is
exactly that many bytes (it may contain newlines); without it the payload runs to the next
newline or the end of the body. Blank lines where an item header is expected (trailing
newlines, `\\r\\n` endings) are tolerated, as Relay does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import msgspec
import orjson

from pulsekit.sentry.errors import SentryPayloadError

EVENT_ITEM_TYPES = frozenset({'event'})  # the only item type PulseKit stores; every other type is skipped
# The longest envelope header read before a key found only there (its `dsn`) is checked, bytes. Real
# headers are a few hundred bytes (event_id, sent_at, sdk, trace).
MAX_ENVELOPE_HEADER_BYTES = 64 * 1024
_SURROGATE = re.compile('[\ud800-\udfff]')
_decode_json = msgspec.json.decode  # like orjson, but integers beyond 64 bits stay exact integers


class InvalidEnvelope(SentryPayloadError):
    """The body is not a well-formed envelope (bad header line, bad item header, short payload)."""


class InvalidEventPayload(SentryPayloadError):
    """An event payload is not a JSON object."""


@dataclass(frozen=True)
class EnvelopeItem:
    type: str
    headers: dict
    payload: bytes


@dataclass(frozen=True)
class Envelope:
    headers: dict
    items: list[EnvelopeItem] = field(default_factory=list)

    @property
    def event_items(self) -> list[EnvelopeItem]:
        return [item for item in self.items if item.type in EVENT_ITEM_TYPES]

    @property
    def skipped_item_types(self) -> list[str]:
        return [item.type for item in self.items if item.type not in EVENT_ITEM_TYPES]


def loads_lenient(data: bytes):
    """JSON as Sentry reads it: what strict decoders refuse is kept when it can be. Lone UTF-16 surrogates
    (`"\\ud800"`, which no database can store as text) and bytes that are not UTF-8 become U+FFFD, NaN and
    Infinity are read; raises ValueError (or RecursionError) when it is not JSON at all."""
    return _scrub(json.loads(data.decode('utf-8', 'replace')))


def _scrub(value):
    if isinstance(value, str):
        return _SURROGATE.sub('\ufffd', value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _json_line(line: bytes, what: str) -> dict:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            value = loads_lenient(line)
        except (ValueError, RecursionError):
            raise InvalidEnvelope(f'{what} is not valid JSON') from None
    if not isinstance(value, dict):
        raise InvalidEnvelope(f'{what} must be a JSON object')
    return value


def envelope_header(line: bytes) -> dict | None:
    """The envelope header (the body's first line) as a dict, or None when it is not a JSON object."""
    try:
        return _json_line(line.strip(), 'envelope header')
    except InvalidEnvelope:
        return None


def parse_envelope(body: bytes) -> Envelope:
    """Split an envelope body into its header and items; raises InvalidEnvelope on malformed input."""
    end = body.find(b'\n')
    header_line = body if end < 0 else body[:end]
    headers = _json_line(header_line.strip(), 'envelope header')
    pos = len(body) if end < 0 else end + 1
    items: list[EnvelopeItem] = []
    size = len(body)
    while pos < size:
        end = body.find(b'\n', pos)
        line = body[pos:] if end < 0 else body[pos:end]
        pos = size if end < 0 else end + 1
        if not line.strip():
            continue  # blank line between items or at the end
        index = len(items)
        item_headers = _json_line(line.strip(), f'item {index} header')
        item_type = item_headers.get('type')
        if not isinstance(item_type, str) or not item_type:
            raise InvalidEnvelope(f'item {index} header has no type')
        length = item_headers.get('length')
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise InvalidEnvelope(f'item {index} length must be a non-negative integer')
            if pos + length > size:
                raise InvalidEnvelope(f'item {index} is shorter than its length ({length} bytes)')
            payload = body[pos : pos + length]
            pos += length
            if pos < size and body[pos : pos + 1] == b'\n':
                pos += 1
        else:
            end = body.find(b'\n', pos)
            payload = body[pos:] if end < 0 else body[pos:end]
            pos = size if end < 0 else end + 1
            if payload.endswith(b'\r'):
                payload = payload[:-1]
        items.append(EnvelopeItem(type=item_type, headers=item_headers, payload=payload))
    return Envelope(headers=headers, items=items)


def parse_event_payload(payload: bytes) -> dict:
    """Parse one event payload (an envelope `event` item or a /store/ body) into a dict.

    msgspec first (fast, and exact for integers beyond 64 bits, which Python SDKs may send); the
    lenient reader when it refuses, for NaN, lone surrogates and stray bytes, which a valid Sentry event
    can carry (replaced, never refused: docs/sentry.md).
    """
    try:
        value = _decode_json(payload)
    except (msgspec.DecodeError, RecursionError):
        try:
            value = loads_lenient(payload)
        except (ValueError, RecursionError):
            raise InvalidEventPayload('event payload is not valid JSON') from None
    if not isinstance(value, dict):
        raise InvalidEventPayload('event payload must be a JSON object')
    return value
