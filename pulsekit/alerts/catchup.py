"""Crash safety for the commit-driven rules: a durable watermark (the highest event `seq` known
to be evaluated) and, at start-up, the re-evaluation of every event committed after it.

The bus is in memory, so a process killed between a commit and its evaluation would otherwise
miss those events' new_error and pattern firings. Re-evaluating a little more than needed is
harmless: firings are deduplicated by `(rule, window_key)` and held back by the cooldown.
Regressions are not reconstructed here (the issue row does not say which event reopened it).
"""

from __future__ import annotations

import peewee as pw

from ..bus import CommitSummary
from ..models import AlertState, Event, to_millis

WATERMARK_KEY = 'evaluated_seq'
CATCH_UP_CHUNK_EVENTS = 5_000  # events re-evaluated per step at start-up
MAX_CATCH_UP_EVENTS = 100_000  # beyond this, older unevaluated events are skipped (logged)


def load_watermark() -> int | None:
    """The highest event seq known to be evaluated, or None before the first start with alerting."""
    row = AlertState.get_or_none(AlertState.key == WATERMARK_KEY)
    return None if row is None else row.value


def save_watermark(seq: int) -> None:
    """Move the watermark forward (never back). Two statements that each hold under concurrency: replicas
    on PostgreSQL save it from their own writers."""
    AlertState.insert(key=WATERMARK_KEY, value=seq).on_conflict_ignore().execute()
    AlertState.update(value=seq).where((AlertState.key == WATERMARK_KEY) & (AlertState.value < seq)).execute()


def max_event_seq() -> int:
    return Event.select(pw.fn.MAX(Event.seq)).scalar() or 0


def events_after(seq: int, limit: int = CATCH_UP_CHUNK_EVENTS) -> tuple[CommitSummary | None, int]:
    """A commit summary of the events stored after `seq` (oldest first, at most `limit`) and the last seq in it.

    An issue counts as new when none of its events is at or below `seq`."""
    rows = list(Event.select().where(Event.seq > seq).order_by(Event.seq).limit(limit))
    if not rows:
        return None, seq
    issue_ids = {r.issue_id for r in rows if r.issue_id is not None}
    older = set()
    if issue_ids:
        older = {
            issue_id
            for (issue_id,) in Event.select(Event.issue)
            .where(Event.issue.in_(list(issue_ids)) & (Event.seq <= seq))
            .distinct()
            .tuples()
        }
    events = [
        {
            'id': str(r.id),
            'project_id': r.project_id,
            'issue_id': r.issue_id,
            'type': r.type,
            'level': r.level,
            'message': r.message or r.exception_value or '',
            'environment': r.environment,
            'release': r.release,
            'tags': r.tags or {},
            'timestamp': to_millis(r.timestamp),
            'exception_type': r.exception_type,
        }
        for r in rows
    ]
    new_issues = sorted(issue_ids - older)
    return CommitSummary(events, new_issues, []), rows[-1].seq
