"""Read side of alerting: a rule's firing history and its delivery log, newest first."""

from __future__ import annotations

from ..events.queries import format_time
from ..models import AlertFiring, WebhookDelivery
from .outbox import format_duration

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def firing_window(payload: dict) -> tuple[str | None, str | None, str | None]:
    """(start, end, duration) of a firing's window, RFC 3339 and e.g. '5m', from its stored payload
    (payloads stored by earlier versions carried the window as an object)."""
    context = payload.get('context') or {}
    window = context.get('time_window')
    if isinstance(window, dict):
        seconds = window.get('seconds')
        return window.get('start'), window.get('end'), None if seconds is None else format_duration(seconds)
    return context.get('window_start'), context.get('window_end'), window


def firing_to_dict(firing: AlertFiring) -> dict:
    payload = firing.payload or {}
    start, end, duration = firing_window(payload)
    events = payload.get('events') or []
    return {
        'id': firing.id,
        'rule_id': firing.rule_id,
        'window_key': firing.window_key,
        'is_test': firing.window_key.startswith('test:'),
        'status': (payload.get('alert') or {}).get('status', 'firing'),
        'window_start': start,
        'window_end': end,
        'time_window': duration,
        'first_event': events[0] if events else None,
        'triggered_at': format_time(firing.triggered_at),
        'event_count': firing.event_count,
        'payload': firing.payload,
    }


def delivery_to_dict(delivery: WebhookDelivery, firing: AlertFiring | None = None) -> dict:
    return {
        'id': delivery.id,
        'firing_id': delivery.firing_id,
        'message_id': delivery.message_id,
        'status': delivery.status,
        'attempts': delivery.attempts,
        'next_attempt_at': format_time(delivery.next_attempt_at),
        'last_status_code': delivery.last_status_code,
        'last_error': delivery.last_error,
        'attempt_log': delivery.attempt_log or [],
        'inserted_at': format_time(delivery.inserted_at),
        'is_test': firing.window_key.startswith('test:') if firing else None,
    }


def list_firings(rule_id: int, limit: int = DEFAULT_LIMIT) -> list[dict]:
    """A rule's firings, newest first."""
    rows = AlertFiring.select().where(AlertFiring.rule == rule_id).order_by(AlertFiring.id.desc()).limit(_limit(limit))
    return [firing_to_dict(f) for f in rows]


def list_deliveries(rule_id: int, limit: int = DEFAULT_LIMIT) -> list[dict]:
    """A rule's webhook deliveries with every attempt (time, status code, latency, response snippet), newest first."""
    rows = (
        WebhookDelivery.select(WebhookDelivery, AlertFiring)
        .join(AlertFiring)
        .where(AlertFiring.rule == rule_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(_limit(limit))
    )
    return [delivery_to_dict(d, d.firing) for d in rows]


def delivery_for_firing(firing_id: int) -> dict | None:
    row = WebhookDelivery.select().where(WebhookDelivery.firing == firing_id).first()
    return delivery_to_dict(row) if row else None
