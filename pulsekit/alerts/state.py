"""Threshold rules have a state: `ok` or `firing` (since when). A rule notifies when it crosses its
threshold, stays quiet while it stays above, and notifies once more when it falls back.

The state lives in the `alert_state` key/value table (one `threshold_firing:<rule id>` row per firing
rule, valued with the epoch ms the episode began), so it needs no schema change and is written in
the same transaction as the firing that changes it: a restart never repeats or loses a transition.
"""

from __future__ import annotations

from datetime import datetime

from ..models import AlertState, from_millis, to_millis

KEY_PREFIX = 'threshold_firing:'
STATUSES = ('firing', 'resolved')


def _key(rule_id: int) -> str:
    return f'{KEY_PREFIX}{rule_id}'


def firing_since(rule_ids: list[int]) -> dict[int, datetime]:
    """When each of these rules began firing (rules in the `ok` state are absent)."""
    if not rule_ids:
        return {}
    rows = AlertState.select().where(AlertState.key.in_([_key(i) for i in rule_ids]))
    return {int(row.key[len(KEY_PREFIX) :]): from_millis(row.value) for row in rows}


def set_firing(rule_id: int, since: datetime) -> None:
    """Mark a rule as firing (writer thread, inside the firing's transaction)."""
    value = to_millis(since)
    AlertState.insert(key=_key(rule_id), value=value).on_conflict(
        conflict_target=[AlertState.key], update={AlertState.value: value}
    ).execute()


def clear_firing(rule_id: int) -> None:
    """Back to `ok` (writer thread, inside the resolving firing's transaction; also when a rule is deleted)."""
    AlertState.delete().where(AlertState.key == _key(rule_id)).execute()
