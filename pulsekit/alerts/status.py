"""Each rule's live status (ok, firing, webhook failing, disabled) and how many rules are firing now."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..models import AlertFiring, AlertRule, WebhookDelivery, now_utc
from . import state

FIRING_RECENT_S = 300  # a new-error or pattern rule counts as "firing" for at least this long after it fired


def firing_rule_ids(rules: list[AlertRule], now: datetime | None = None) -> set[int]:
    """Rules firing now: threshold rules in the `firing` state; new-error and pattern rules (which have
    no end) for their cooldown, at least 5 minutes, after they fired. Disabled rules never fire."""
    now = now or now_utc()
    since = state.firing_since([r.id for r in rules if r.condition_type == 'threshold'])
    firing = set()
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.condition_type == 'threshold':
            is_firing = rule.id in since
        else:
            recent_s = max(rule.cooldown_s, FIRING_RECENT_S)
            is_firing = rule.last_fired_at is not None and rule.last_fired_at >= now - timedelta(seconds=recent_s)
        if is_firing:
            firing.add(rule.id)
    return firing


def count_firing_rules(project_ids: list[int] | None, now: datetime | None = None) -> int:
    """How many rules of these projects (None: all) are firing now (the home page's card)."""
    query = AlertRule.select().where(AlertRule.enabled)
    if project_ids is not None:
        query = query.where(AlertRule.project.in_(project_ids))
    return len(firing_rule_ids(list(query), now))


def rule_statuses(rules: list[AlertRule], now: datetime | None = None) -> dict[int, str]:
    """Live status per rule: disabled | webhook_failing | firing | ok."""
    now = now or now_utc()
    if not rules:
        return {}
    latest: dict[int, WebhookDelivery] = {}
    recent = (
        WebhookDelivery.select(WebhookDelivery, AlertFiring.rule)
        .join(AlertFiring)
        .where(AlertFiring.rule.in_([r.id for r in rules]))
        .order_by(WebhookDelivery.id.desc())
        .limit(50 * len(rules))
    )
    for delivery in recent:
        latest.setdefault(delivery.firing.rule_id, delivery)
    firing = firing_rule_ids(rules, now)
    statuses = {}
    for rule in rules:
        last = latest.get(rule.id)
        is_failing = rule.is_webhook_disabled or (
            last is not None and (last.status == 'failed' or (last.status == 'pending' and last.attempts > 0))
        )
        if not rule.enabled:
            statuses[rule.id] = 'disabled'
        elif is_failing:
            statuses[rule.id] = 'webhook_failing'
        elif rule.id in firing:
            statuses[rule.id] = 'firing'
        else:
            statuses[rule.id] = 'ok'
    return statuses
