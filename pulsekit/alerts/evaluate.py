"""Rule evaluation: which rules fire, on which evidence, under which dedupe key.

- new_error and pattern rules look at what a writer commit stored (`CommitSummary`), right
  after the commit, off the request path;
- threshold rules are counted over a sliding window that ends on the evaluation grid
  (every `alert_eval_interval_s`), so a restart evaluates the same grid points again and the
  `(rule, window_key)` unique index keeps each from firing twice.

Nothing here writes: it returns `(rule_id, Trigger)` pairs for `outbox.record_firing`.
Also home of the 24-hour preview ("how often would this rule have fired?").
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

from ..bus import CommitSummary
from ..events.queries import EventFilter, event_conditions
from ..models import AlertRule, Event, Issue, from_millis, to_millis
from . import state
from .outbox import MAX_PAYLOAD_EVENTS, Trigger, is_renotify_due
from .rules import compile_pattern

PREVIEW_HOURS = 24
PREVIEW_MAX_EVENTS = 200_000  # the preview scans at most this many events; it says when it stopped early
SUMMARY_MESSAGE_CHARS = 300  # the writer cuts summary messages here; longer ones are re-read in full


def _summary_text(event: dict) -> str:
    return event.get('message') or ''


def load_event_rules(project_ids: set[int]) -> list[AlertRule]:
    """Enabled new_error and pattern rules of these projects."""
    if not project_ids:
        return []
    return list(
        AlertRule.select().where(
            AlertRule.enabled
            & ~AlertRule.is_webhook_disabled
            & AlertRule.condition_type.in_(('new_error', 'pattern'))
            & AlertRule.project.in_(list(project_ids))
        )
    )


def event_rule_project_ids() -> set[int]:
    """Projects with at least one enabled new_error or pattern rule."""
    query = (
        AlertRule.select(AlertRule.project)
        .distinct()
        .where(
            AlertRule.enabled & ~AlertRule.is_webhook_disabled & AlertRule.condition_type.in_(('new_error', 'pattern'))
        )
    )
    return {row.project_id for row in query}


def _full_messages(event_ids: list[str]) -> dict[str, str]:
    """Messages of events whose summary was cut short."""
    import uuid

    found = {}
    for start in range(0, len(event_ids), 500):
        chunk = [uuid.UUID(i) for i in event_ids[start : start + 500]]
        for row in Event.select(Event.id, Event.message, Event.exception_value).where(Event.id.in_(chunk)):
            found[str(row.id)] = row.message or row.exception_value or ''
    return found


def pattern_matches(config: dict, message: str, event_type: str | None) -> bool:
    """Does an event match a pattern rule? RE2 guarantees this runs in linear time."""
    if not compile_pattern(config['pattern']).search(message or ''):
        return False
    type_pattern = config.get('type_pattern')
    return not type_pattern or bool(compile_pattern(type_pattern).search(event_type or ''))


def match_commits(summaries: list[CommitSummary], now: datetime, rules: list[AlertRule] | None = None):
    """Triggers of new_error and pattern rules for the events of some commits."""
    events = [e for s in summaries for e in s.events]
    new_issues = {i for s in summaries for i in s.new_issue_ids}
    regressed = {i for s in summaries for i in s.regressed_issue_ids}
    rules = load_event_rules({e['project_id'] for e in events}) if rules is None else rules
    if not rules:
        return []
    by_project: dict[int, list[dict]] = {}
    for event in events:
        by_project.setdefault(event['project_id'], []).append(event)
    full: dict[str, str] = {}
    if any(r.condition_type == 'pattern' for r in rules):
        cut = [e['id'] for e in events if len(_summary_text(e)) >= SUMMARY_MESSAGE_CHARS]
        full = _full_messages(cut) if cut else {}
    triggers = []
    for rule in rules:
        project_events = by_project.get(rule.project_id, [])
        if rule.condition_type == 'new_error':
            triggers += _new_error_triggers(rule, project_events, new_issues, regressed)
        else:
            triggers += _pattern_triggers(rule, project_events, full, now)
    return triggers


def _window_of(events: list[dict]) -> tuple[datetime, datetime]:
    stamps = [e['timestamp'] for e in events]
    return from_millis(min(stamps)), from_millis(max(stamps))


def _new_error_triggers(rule: AlertRule, events: list[dict], new_issues: set[int], regressed: set[int]):
    triggers = []
    by_issue: dict[int, list[dict]] = {}
    for event in events:
        if event.get('issue_id') is not None:
            by_issue.setdefault(event['issue_id'], []).append(event)
    for issue_id, issue_events in by_issue.items():
        if issue_id in new_issues:
            key = f'issue:{issue_id}'
        elif issue_id in regressed and rule.condition_config.get('include_regressions'):
            # One regression = the event that reopened the issue; its id keys the firing.
            key = f'regression:{issue_id}:{issue_events[0]["id"].replace("-", "")}'
        else:
            continue
        start, end = _window_of(issue_events)
        triggers.append((rule.id, Trigger(key, issue_events, len(issue_events), start, end, issue_id)))
    return triggers


def _pattern_triggers(rule: AlertRule, events: list[dict], full: dict[str, str], now: datetime):
    matched = []
    for event in events:
        text = full.get(event['id'], _summary_text(event))
        if pattern_matches(rule.condition_config, text, event.get('type')):
            matched.append({**event, 'message': text})
    if not matched:
        return []
    # Keyed by cooldown bucket: a storm inside one cooldown period is one firing, even across a restart.
    if rule.cooldown_s > 0:
        key = f'pattern:{to_millis(now) // (rule.cooldown_s * 1000)}'
    else:
        key = f'pattern:{matched[0]["id"].replace("-", "")}'
    start, end = _window_of(matched)
    return [(rule.id, Trigger(key, matched, len(matched), start, end))]


# -- threshold rules -------------------------------------------------------------------------
def grid_end(now: datetime, interval_s: float) -> datetime:
    """The latest evaluation grid point at or before `now` (grid: multiples of the interval since the epoch)."""
    step = max(1, int(interval_s * 1000))
    return from_millis(to_millis(now) // step * step)


def threshold_filter(rule_project_id: int, config: dict, since: datetime, until: datetime) -> EventFilter:
    return EventFilter(
        project_ids=[rule_project_id],
        levels=list(config.get('level') or []),
        type=config.get('type'),
        environment=config.get('environment'),
        tags=list((config.get('tags') or {}).items()),
        since=since,
        until=until,
    )


def _summaries(rows) -> list[dict]:
    return [
        {
            'id': str(r.id),
            'type': r.type,
            'level': r.level,
            'message': r.message or r.exception_value or '',
            'timestamp': to_millis(r.timestamp),
            'issue_id': r.issue_id,
        }
        for r in rows
    ]


def evaluate_thresholds(now: datetime, interval_s: float, rules: list[AlertRule] | None = None):
    """Triggers of threshold rules whose state changes at the current grid point: `firing` when the window
    ending there holds more than N events and the rule was `ok` (or its re-notify interval has passed),
    `resolved` when it holds N or fewer and the rule was firing."""
    if rules is None:
        rules = list(
            AlertRule.select().where(
                AlertRule.enabled & ~AlertRule.is_webhook_disabled & (AlertRule.condition_type == 'threshold')
            )
        )
    end = grid_end(now, interval_s)
    firing = state.firing_since([r.id for r in rules])
    triggers = []
    for rule in rules:
        config = rule.condition_config
        start = end - timedelta(seconds=config['window_s'])
        conds = event_conditions(threshold_filter(rule.project_id, config, start, end))
        count = Event.select().where(*conds).count()
        is_above, was_firing = count > config['threshold'], rule.id in firing
        if is_above and (not was_firing or is_renotify_due(rule, now)):
            status, key = 'firing', f'threshold:{to_millis(end)}'
        elif not is_above and was_firing:
            status, key = 'resolved', f'resolved:{to_millis(end)}'
        else:
            continue
        # The first events of the window, oldest first: what made it cross.
        sample = Event.select().where(*conds).order_by(Event.timestamp, Event.seq).limit(MAX_PAYLOAD_EVENTS)
        trigger = Trigger(key, _summaries(sample), count, start, end, status=status, window_s=config['window_s'])
        triggers.append((rule.id, trigger))
    return triggers


# -- preview ---------------------------------------------------------------------------------
def _cooled_firings(times_ms: list[int], cooldown_s: int) -> list[int]:
    fired, last = [], None
    for t in times_ms:
        if last is None or t >= last + cooldown_s * 1000:
            fired.append(t)
            last = t
    return fired


def preview_rule(
    project_id: int, rule_type: str, config: dict, cooldown_s: int, *, now: datetime, interval_s: float
) -> dict:
    """How often a (validated, possibly unsaved) rule would have fired over the last 24 hours."""
    since = now - timedelta(hours=PREVIEW_HOURS)
    truncated = False
    scanned = 0
    if rule_type == 'threshold':
        window_ms = config['window_s'] * 1000
        conds = event_conditions(threshold_filter(project_id, config, since - timedelta(milliseconds=window_ms), now))
        query = Event.select(Event.timestamp).where(*conds).order_by(Event.timestamp).limit(PREVIEW_MAX_EVENTS)
        stamps = [to_millis(t) for (t,) in query.tuples()]
        scanned, truncated = len(stamps), len(stamps) >= PREVIEW_MAX_EVENTS
        step = max(1, int(interval_s * 1000))
        first_tick = to_millis(since) // step * step + step
        candidates = []
        # The grid points of the last 24 h, plus "now": events since the last grid point count too.
        ticks = [*range(first_tick, to_millis(now) + 1, step), to_millis(now) + 1]
        renotify_ms = (config.get('renotify_s') or 0) * 1000
        was_above, notified = False, None
        for tick in ticks:
            count = bisect.bisect_left(stamps, tick) - bisect.bisect_left(stamps, tick - window_ms)
            is_above = count > config['threshold']
            # A threshold rule notifies when it starts firing (and on re-notify), not on every tick above.
            if is_above and (not was_above or (renotify_ms and tick >= notified + renotify_ms)):
                candidates.append(tick)
                notified = tick
            was_above = is_above
        cooldown_s = 0
    elif rule_type == 'new_error':
        rows = (
            Issue.select(Issue.first_seen)
            .where((Issue.project == project_id) & (Issue.first_seen >= since))
            .order_by(Issue.first_seen)
            .limit(PREVIEW_MAX_EVENTS)
            .tuples()
        )
        candidates = [to_millis(t) for (t,) in rows]
        scanned = len(candidates)
    else:
        query = (
            Event.select(Event.timestamp, Event.message, Event.exception_value, Event.type)
            .where((Event.project == project_id) & (Event.timestamp >= since))
            .order_by(Event.timestamp)
            .limit(PREVIEW_MAX_EVENTS)
            .tuples()
        )
        candidates = []
        for ts, message, exception_value, event_type in query:
            scanned += 1
            if pattern_matches(config, message or exception_value or '', event_type):
                candidates.append(to_millis(ts))
        truncated = scanned >= PREVIEW_MAX_EVENTS
    fired = _cooled_firings(candidates, cooldown_s)
    hourly = [0] * PREVIEW_HOURS
    base = to_millis(since)
    for t in fired:
        hourly[min(PREVIEW_HOURS - 1, max(0, (t - base) // 3_600_000))] += 1
    return {'would_fire': len(fired), 'hourly': hourly, 'scanned_events': scanned, 'truncated': truncated}
