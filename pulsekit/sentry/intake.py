"""The Sentry intake: from an envelope or /store/ body to native events ready for the writer.

Sentry events are mapped (mapping.py) and then go through exactly the same validation,
normalisation and fingerprinting as native ones (`events.ingest.prepare_event`), so they
group, alert and display alike. Only `event` items are stored; every other item type
(transaction, session, client_report, attachment, …) is accepted and skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from pulsekit.errors import InvalidField, PermissionDenied
from pulsekit.events.ingest import annotate_grouping, prepare_event
from pulsekit.events.storable import NUL_IN_JSON, without_nul
from pulsekit.projects import KeyInfo
from pulsekit.sentry.decode import assemble, decode_sentry_event, premapped_frames
from pulsekit.sentry.envelope import Envelope, parse_event_payload
from pulsekit.sentry.mapping import map_sentry_event
from pulsekit.sentry.metadata import fit_metadata


@dataclass
class SentryIntake:
    events: list[dict]  # normalised native events, in the order sent
    event_id: str | None  # the id answered to the SDK (32 hex digits, as Sentry answers)
    skipped_item_types: list[str] = field(default_factory=list)


def require_project_key(key: KeyInfo, project_number: int) -> None:
    """The key must belong to the DSN's project (an admin key too: a DSN names one project)."""
    if key.project_id != project_number:
        raise PermissionDenied(f'this key does not belong to project {project_number}')


def prepare_envelope(envelope: Envelope, received_at: datetime, client_ip: str | None = None) -> SentryIntake:
    """Map and validate the envelope's event items; the other items are only counted as skipped."""
    header_id = envelope.headers.get('event_id') if isinstance(envelope.headers.get('event_id'), str) else None
    events = [prepare_payload(item.payload, received_at, client_ip, header_id) for item in envelope.event_items]
    event_id = _sentry_id(events[0]['id']) if events else _valid_id(header_id)
    return SentryIntake(events, event_id, envelope.skipped_item_types)


def prepare_store(body: bytes, received_at: datetime, client_ip: str | None = None) -> SentryIntake:
    """A /store/ body is one event as JSON."""
    event = prepare_payload(body, received_at, client_ip, None)
    return SentryIntake([event], _sentry_id(event['id']))


def prepare_payload(payload: bytes, received_at: datetime, client_ip: str | None, header_id: str | None) -> dict:
    """One Sentry event payload → one normalised, fingerprinted native event (or its InvalidJson/InvalidField).

    The compiled pass (decode.py) first; what it does not take goes through the general reader and
    mapping and the protocol's whole validation, which is the definition of the result.
    """
    decoded = decode_sentry_event(payload)
    if decoded is not None:
        try:
            native = map_sentry_event(
                decoded, client_ip=client_ip, event_id=header_id, fit=False, frames_of=premapped_frames
            )
            event = assemble(native, received_at)
            return annotate_grouping(without_nul(event) if NUL_IN_JSON in payload else event)
        except Exception:  # refused or unsure here (e.g. metadata to clip): the slow path decides and says why
            pass
    return _prepare(parse_event_payload(payload), received_at, client_ip, header_id)


def _prepare(sentry_event: dict, received_at: datetime, client_ip: str | None, header_id: str | None) -> dict:
    # Most events' metadata fits as sent; clipping it (a deep copy) only when validation refuses it
    # saves a third of the mapping's cost on the hot path.
    native = map_sentry_event(sentry_event, client_ip=client_ip, event_id=header_id, fit=False)
    try:
        return prepare_event(native, received_at)
    except (InvalidField, orjson.JSONEncodeError) as exc:  # the encode error: an integer beyond 64 bits
        if 'metadata' not in native or (isinstance(exc, InvalidField) and exc.field != 'metadata'):
            raise
    native['metadata'] = fit_metadata(native['metadata'])
    return prepare_event(native, received_at)


def _sentry_id(value: uuid.UUID | str) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(value).hex


def _valid_id(value: str | None) -> str | None:
    try:
        return uuid.UUID(value).hex if value else None
    except ValueError:
        return None
