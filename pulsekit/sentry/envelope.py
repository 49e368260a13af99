"""Sentry envelopes: bytes → header + items, per https://develop.sentry.dev/sdk/data-model/envelopes/.

An envelope is one JSON header line, then items: each an item-header line (JSON, with a
`type` and an optional `length`) followed by its payload. With `length` the payload is
exactly that many bytes (it may contain newlines); without it the payload runs to the next
newline or the end of the body. Blank lines where an item header is expected (trailing
newlines, `\\r\\n` endings) are tolerated, as Relay does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import orjson

from pulsekit.sentry.errors import SentryPayloadError

EVENT_ITEM_TYPES = frozenset({'event'})  # the only item type PulseKit stores; every other type is skipped


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


def _json_line(line: bytes, what: str) -> dict:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise InvalidEnvelope(f'{what} is not valid JSON') from None
    if not isinstance(value, dict):
        raise InvalidEnvelope(f'{what} must be a JSON object')
    return value


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

    orjson first (fast); the standard library as a fallback, because Python SDKs may emit
    integers beyond 64 bits or NaN, which a valid Sentry event can legitimately carry.
    """
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(payload)
        except (ValueError, RecursionError):
            raise InvalidEventPayload('event payload is not valid JSON') from None
    if not isinstance(value, dict):
        raise InvalidEventPayload('event payload must be a JSON object')
    return value
