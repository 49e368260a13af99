"""From a parsed request body to events ready for the writer: validate, normalise, fingerprint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import grouping
from .decode import decode_batch, decode_event
from .schema import normalize_batch, normalize_event
from .storable import NUL_IN_JSON, without_nul


def annotate_grouping(event: dict) -> dict:
    """Attach fingerprint, title and culprit to events that are grouped into issues."""
    if grouping.is_grouped(event):
        event['_fingerprint'] = grouping.compute_fingerprint(event)
        event['_title'] = grouping.issue_title(event)
        event['_culprit'] = grouping.issue_culprit(event)
    return event


def prepare_event(body: Any, received_at: datetime) -> dict:
    """One event body → one normalised, fingerprinted event (raises InvalidField)."""
    return annotate_grouping(without_nul(normalize_event(body, received_at)))


def prepare_batch(body: Any, received_at: datetime, max_events: int) -> list[dict]:
    """A batch body → normalised, fingerprinted events; one invalid event refuses them all."""
    return [annotate_grouping(without_nul(e)) for e in normalize_batch(body, received_at, max_events)]


def prepare_event_json(body: bytes, received_at: datetime) -> dict:
    """A native request body (JSON bytes) → one normalised, fingerprinted event."""
    event = decode_event(body, received_at)
    return annotate_grouping(without_nul(event) if NUL_IN_JSON in body else event)


def prepare_batch_json(body: bytes, received_at: datetime, max_events: int) -> list[dict]:
    """A native `/batch` request body (JSON bytes) → normalised, fingerprinted events."""
    events = decode_batch(body, received_at, max_events)
    if NUL_IN_JSON in body:  # once per body: the scan of a large batch costs more than decoding it
        events = [without_nul(e) for e in events]
    return [annotate_grouping(e) for e in events]
