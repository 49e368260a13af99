"""The webhook outbox: a firing and its delivery are written in one transaction, so a
notification is either fully recorded (and will be sent, even after a restart) or not at all.

Every function here writes; callers run them on the writer thread (`services.writer.run_task`),
which serialises them with ingestion, so the cooldown check and the insert cannot race.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee as pw

from ..events.queries import format_time
from ..models import AlertFiring, AlertRule, Project, WebhookDelivery, from_millis
from . import state
from .signing import generate_message_id

MAX_PAYLOAD_EVENTS = 10
MAX_EVENT_MESSAGE_CHARS = 1000
MAX_LOG_ATTEMPTS = 50  # a delivery keeps its last attempts only
# Standard Webhooks' schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, and a last try a day later.
RETRY_DELAYS_S = (5, 300, 1800, 7200, 18000, 36000, 86400)
RETRY_JITTER = 0.1  # each delay is stretched by up to ±10 % so receivers are not hit in lockstep
MAX_RETRY_AFTER_S = 86400


@dataclass(frozen=True)
class Trigger:
    """What made a rule fire: the dedupe key of its window and the evidence."""

    window_key: str
    events: list[dict]  # event summaries: id, type, level, message, timestamp (epoch ms)
    event_count: int
    window_start: datetime
    window_end: datetime
    issue_id: int | None = None
    status: str = 'firing'  # firing | resolved (only threshold rules resolve)
    window_s: int | None = None  # the rule's window (threshold rules); else the span of the events


def _event_payload(event: dict) -> dict:
    message = event.get('message') or ''
    ts = event.get('timestamp')
    return {
        'id': event.get('id'),
        'type': event.get('type'),
        'level': event.get('level'),
        'message': message[:MAX_EVENT_MESSAGE_CHARS],
        'timestamp': format_time(from_millis(ts) if isinstance(ts, int) else ts),
        'issue_id': event.get('issue_id'),
    }


def format_duration(seconds: float) -> str:
    """A compact duration as the payload's `time_window` gives it: 45s, 5m, 1h, 1h30m, 1d."""
    seconds = max(0, round(seconds))
    if seconds == 0:
        return '0s'
    parts = []
    for size, unit in ((86400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')):
        if seconds >= size:
            parts.append(f'{seconds // size}{unit}')
            seconds %= size
    return ''.join(parts)


def build_payload(rule: AlertRule, project: Project, trigger: Trigger, now: datetime, base_url: str, test: bool):
    """The generic JSON payload (stored on the firing; chat formats are derived from it at send time)."""
    seconds = trigger.window_s
    if seconds is None:
        seconds = (trigger.window_end - trigger.window_start).total_seconds()
    alert = {
        'id': rule.id,
        'name': rule.name,
        'rule_type': rule.condition_type,
        'status': trigger.status,
        'triggered_at': format_time(now),
    }
    context = {
        'event_count': trigger.event_count,
        'time_window': format_duration(seconds),
        'window_start': format_time(trigger.window_start),
        'window_end': format_time(trigger.window_end),
    }
    if rule.condition_type == 'threshold':
        context['threshold'] = rule.condition_config.get('threshold')
    payload = {
        'alert': alert,
        'project': {'id': project.id, 'name': project.name},
        'events': [_event_payload(e) for e in trigger.events[:MAX_PAYLOAD_EVENTS]],
        'context': context,
        'url': f'{base_url}/alerts?rule={rule.id}',
    }
    if trigger.issue_id is not None:
        payload['issue_url'] = f'{base_url}/issues/{trigger.issue_id}'
    if test:
        payload['test'] = True
    return payload


def is_cooling_down(rule: AlertRule, now: datetime) -> bool:
    return rule.last_fired_at is not None and now < rule.last_fired_at + timedelta(seconds=rule.cooldown_s)


def is_renotify_due(rule: AlertRule, now: datetime) -> bool:
    """A firing threshold rule with a re-notify interval that has passed since its last notification."""
    renotify_s = (rule.condition_config or {}).get('renotify_s') or 0
    if not renotify_s or rule.last_fired_at is None:
        return False
    return now >= rule.last_fired_at + timedelta(seconds=renotify_s)


def _is_held_back(rule: AlertRule, trigger: Trigger, now: datetime) -> bool:
    """Should this (non-test) trigger not notify? Threshold rules notify on a change of state (and
    re-notify when asked); the others are held back by their cooldown."""
    if not rule.enabled:
        return True
    if rule.condition_type != 'threshold':
        return is_cooling_down(rule, now)
    is_firing = rule.id in state.firing_since([rule.id])
    if trigger.status == 'resolved':
        return not is_firing
    return is_firing and not is_renotify_due(rule, now)


def record_firing(rule_id: int, trigger: Trigger, *, now: datetime, base_url: str, test: bool = False) -> int | None:
    """Write a firing and its pending delivery (and a threshold rule's new state); None when the window
    already fired, the rule cools down, or a threshold rule is already in that state."""
    rule = _locked(AlertRule.select().where(AlertRule.id == rule_id)).first()
    if rule is None or (not test and _is_held_back(rule, trigger, now)):
        return None
    same_window = (AlertFiring.rule == rule.id) & (AlertFiring.window_key == trigger.window_key)
    if AlertFiring.select().where(same_window).exists():
        return None
    payload = build_payload(rule, rule.project, trigger, now, base_url, test)
    try:
        with rule._meta.database.atomic():
            firing = AlertFiring.create(
                rule=rule.id, window_key=trigger.window_key, triggered_at=now, event_count=trigger.event_count,
                payload=payload,
            )  # fmt: skip
            WebhookDelivery.create(
                firing=firing.id, message_id=generate_message_id(), status='pending', attempts=0,
                next_attempt_at=now, attempt_log=[], inserted_at=now,
            )  # fmt: skip
            if not test and trigger.status == 'resolved':
                state.clear_firing(rule.id)
            elif not test:
                if rule.condition_type == 'threshold' and rule.id not in state.firing_since([rule.id]):
                    state.set_firing(rule.id, trigger.window_end)
                AlertRule.update(last_fired_at=now).where(AlertRule.id == rule.id).execute()
    except pw.IntegrityError:  # the same window fired in between (another process): keep the first
        return None
    return firing.id


def _locked(query: pw.Select, **options) -> pw.Select:
    """`query` FOR UPDATE where the database has it (PostgreSQL). Several replicas write firings, each on its
    own writer; locking the rule row until the firing commits makes the cooldown check and the insert one
    step across replicas. SQLite has one writer, which serialises them already."""
    return query.for_update(**options) if query.model._meta.database.for_update else query


def retry_delay_s(attempts: int, delays: tuple[float, ...], rng: random.Random | None = None) -> float | None:
    """Seconds until the next try after `attempts` failed ones; None when the schedule is used up."""
    if attempts - 1 >= len(delays):
        return None
    base = delays[attempts - 1]
    jitter = (rng or random).uniform(-RETRY_JITTER, RETRY_JITTER)
    return max(0.0, base * (1 + jitter))


def due_deliveries(now: datetime, limit: int) -> list[WebhookDelivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    return list(
        WebhookDelivery.select()
        .where((WebhookDelivery.status == 'pending') & (WebhookDelivery.next_attempt_at <= now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )


def claim_deliveries(delivery_ids: list[int], now: datetime, lease_s: float) -> list[int]:
    """Claim due deliveries for this process (PostgreSQL replicas): their next attempt moves `lease_s` ahead, so
    no other replica sends them meanwhile; the attempt's outcome then sets it for real. A replica that dies
    mid-send leaves the delivery to whoever finds it due after the lease. Rows another replica is claiming
    right now are skipped, not waited for. Returns the ids claimed."""
    query = WebhookDelivery.select(WebhookDelivery.id).where(
        WebhookDelivery.id.in_(delivery_ids)
        & (WebhookDelivery.status == 'pending')
        & (WebhookDelivery.next_attempt_at <= now)
    )
    claimed = [row.id for row in _locked(query, skip_locked=True)]
    if claimed:
        lease_end = now + timedelta(seconds=lease_s)
        WebhookDelivery.update(next_attempt_at=lease_end).where(WebhookDelivery.id.in_(claimed)).execute()
    return claimed


def next_due_at() -> datetime | None:
    """When the next pending delivery is due (None: nothing pending)."""
    row = (
        WebhookDelivery.select(pw.fn.MIN(WebhookDelivery.next_attempt_at))
        .where(WebhookDelivery.status == 'pending')
        .scalar()
    )
    return from_millis(row) if isinstance(row, int) else row


@dataclass(frozen=True)
class Attempt:
    """The outcome of one HTTP attempt, as logged on the delivery."""

    at: datetime
    status_code: int | None
    latency_ms: float | None
    response_snippet: str | None
    error: str | None
    retry_after_s: float | None = None

    @property
    def is_success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def to_log(self) -> dict:
        return {
            'at': format_time(self.at),
            'status_code': self.status_code,
            'latency_ms': None if self.latency_ms is None else round(self.latency_ms, 1),
            'response_snippet': self.response_snippet,
            'error': self.error,
        }


def record_attempt(delivery_id: int, attempt: Attempt, delays: tuple[float, ...], rng=None) -> str:
    """Log an attempt and decide what comes next: delivered, retry later, or failed. Returns the new status."""
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id)
    if delivery is None:  # the rule was deleted meanwhile
        return 'deleted'
    attempts = delivery.attempts + 1
    log = [*(delivery.attempt_log or []), attempt.to_log()][-MAX_LOG_ATTEMPTS:]
    changes = {
        WebhookDelivery.attempts: attempts,
        WebhookDelivery.attempt_log: log,
        WebhookDelivery.last_status_code: attempt.status_code,
        WebhookDelivery.last_error: attempt.error,
    }
    if attempt.is_success:
        status, next_at = 'delivered', None
    elif attempt.status_code == 410:
        # 410 Gone: the receiver says this endpoint is gone for good; stop sending to it.
        status, next_at = 'failed', None
        rule_id = AlertFiring.select(AlertFiring.rule).where(AlertFiring.id == delivery.firing_id).scalar()
        AlertRule.update(is_webhook_disabled=True).where(AlertRule.id == rule_id).execute()
        _fail_pending_of_rule(rule_id, 'the webhook was disabled: the receiver answered 410 Gone')
    else:
        delay = retry_delay_s(attempts, delays, rng)
        if delay is None:
            status, next_at = 'failed', None
        else:
            if attempt.retry_after_s is not None:
                delay = max(delay, min(attempt.retry_after_s, MAX_RETRY_AFTER_S))
            status, next_at = 'pending', attempt.at + timedelta(seconds=delay)
    changes[WebhookDelivery.status] = status
    changes[WebhookDelivery.next_attempt_at] = next_at
    WebhookDelivery.update(changes).where(WebhookDelivery.id == delivery_id).execute()
    return status


def _fail_pending_of_rule(rule_id: int, reason: str) -> None:
    firing_ids = AlertFiring.select(AlertFiring.id).where(AlertFiring.rule == rule_id)
    WebhookDelivery.update(status='failed', next_attempt_at=None, last_error=reason).where(
        (WebhookDelivery.status == 'pending') & WebhookDelivery.firing.in_(firing_ids)
    ).execute()


def skip_delivery(delivery_id: int, reason: str) -> None:
    """Give up on a delivery without sending (its rule's webhook is disabled)."""
    WebhookDelivery.update(status='failed', next_attempt_at=None, last_error=reason).where(
        WebhookDelivery.id == delivery_id
    ).execute()
