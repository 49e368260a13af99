"""Aggregates for the dashboard's home page: counts by level, events over time, new issues,
firing alerts, top issues.

Counts read the hourly rollup (`event_counts_hourly`, kept by the writer) for whole hours and
count raw events only for the partial hours at the edges of a range, so a 30-day view reads a
few thousand small rows instead of millions of events, and stays exact.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import peewee as pw

from ..alerts.status import count_firing_rules
from ..models import LEVELS, Event, EventCountHourly, Issue, IssueCountHourly, to_millis
from .queries import EventFilter, issue_to_dict, list_event_summaries

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
RANGES = {'1h': timedelta(hours=1), '24h': timedelta(hours=24), '7d': timedelta(days=7), '30d': timedelta(days=30)}
RANGE_LABELS = {
    '1h': 'Last hour',
    '24h': 'Last 24 hours',
    '7d': 'Last 7 days',
    '30d': 'Last 30 days',
    'custom': 'Custom',
}
# Chart bucket sizes (ms), smallest first; the chart uses the smallest one giving at most MAX_BUCKETS.
BUCKET_SIZES_MS = (60_000, 300_000, 900_000, HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS, 7 * DAY_MS)
MAX_BUCKETS = 72
ERROR_LEVELS = ('error', 'fatal')


@dataclass(frozen=True)
class TimeRange:
    since: datetime
    until: datetime  # a custom range ending in the future is cut at "now" (+1 min); `params` keeps what was asked
    key: str = 'custom'
    params: tuple[tuple[str, str], ...] = ()  # the query parameters that reproduce it, e.g. (('range', '7d'),)

    @property
    def since_ms(self) -> int:
        return to_millis(self.since)

    @property
    def until_ms(self) -> int:
        return to_millis(self.until)


def _parse_moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_range(key: str | None, *, start: str | None = None, end: str | None = None, now: datetime | None = None):
    """'1h' | '24h' | '7d' | '30d' | 'custom' → TimeRange. A custom range is either two ISO dates (whole days,
    both included, UTC) or two ISO date-times (`2026-11-26T08:00Z`; the end excluded), as the picker writes them."""
    now = now or datetime.now(UTC)
    if key == 'custom' and start:
        try:
            since = _parse_moment(start)
            if 'T' in start:
                until = _parse_moment(end) if end else since + timedelta(days=1)
            else:
                until = _parse_moment(end or start) + timedelta(days=1)
        except (ValueError, OverflowError):  # not a time, or a day past 9999-12-30 (the range ends a day later)
            return TimeRange(now - RANGES['24h'], now, '24h', (('range', '24h'),))
        if until <= since:
            since, until = until, since
        params = (('range', 'custom'), ('start', start), *((('end', end),) if end else ()))
        return TimeRange(since, min(until, now + timedelta(minutes=1)), 'custom', params)
    key = key if key in RANGES else '24h'
    return TimeRange(now - RANGES[key], now, key, (('range', key),))


def _project_cond(column: pw.Field, project_ids: list[int] | None):
    if project_ids is None:
        return True
    return column.in_(project_ids) if len(project_ids) != 1 else column == project_ids[0]


def _raw_level_counts(project_ids, levels, since_ms: int, until_ms: int) -> dict[str, int]:
    query = (
        Event.select(Event.level, pw.fn.COUNT(Event.seq))
        .where(_project_cond(Event.project, project_ids), Event.timestamp >= since_ms, Event.timestamp < until_ms)
        .group_by(Event.level)
    )
    if levels:
        query = query.where(Event.level.in_(levels))
    return dict(query.tuples())


def split_at_hours(since_ms: int, until_ms: int) -> tuple[tuple[int, int] | None, list[tuple[int, int]]]:
    """[since, until) as the whole hours inside it (None if there are none), read from a rollup, and
    the non-empty partial ranges at its edges, counted from the events themselves."""
    first_hour = -(-since_ms // HOUR_MS) * HOUR_MS
    last_hour = until_ms // HOUR_MS * HOUR_MS
    if last_hour <= first_hour:
        return None, [(since_ms, until_ms)] if until_ms > since_ms else []
    edges = [(since_ms, first_hour), (last_hour, until_ms)]
    return (first_hour, last_hour), [(start, end) for start, end in edges if end > start]


def level_counts(
    project_ids: list[int] | None, since_ms: int, until_ms: int, levels: list[str] | None = None
) -> dict[str, int]:
    """Exact number of events per level in [since, until): rollup for whole hours, raw rows at the edges."""
    whole, edges = split_at_hours(since_ms, until_ms)
    parts = [_raw_level_counts(project_ids, levels, start, end) for start, end in edges]
    if whole is not None:
        query = (
            EventCountHourly.select(EventCountHourly.level, pw.fn.SUM(EventCountHourly.count))
            .where(
                _project_cond(EventCountHourly.project, project_ids),
                EventCountHourly.hour >= whole[0],
                EventCountHourly.hour < whole[1],
            )
            .group_by(EventCountHourly.level)
        )
        if levels:
            query = query.where(EventCountHourly.level.in_(levels))
        parts.append(dict(query.tuples()))
    counts = dict.fromkeys(LEVELS, 0)
    for part in parts:
        for level, n in part.items():
            counts[level] = counts.get(level, 0) + int(n or 0)
    return counts


def bucket_size_ms(span_ms: int) -> int:
    for size in BUCKET_SIZES_MS:
        if span_ms / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES_MS[-1]


def events_over_time(project_ids: list[int] | None, since_ms: int, until_ms: int) -> dict:
    """{'bucket_ms', 'buckets': [start ms …], 'series': {level: [count …]}} for a stacked chart."""
    size = bucket_size_ms(until_ms - since_ms)
    start = since_ms // size * size
    n = max(1, -(-(until_ms - start) // size))
    series = {level: [0] * n for level in LEVELS}
    if size < HOUR_MS:
        bucket = pw.SQL(f'(timestamp - {int(start)}) / {int(size)}')
        rows = (
            Event.select(bucket, Event.level, pw.fn.COUNT(Event.seq))
            .where(_project_cond(Event.project, project_ids), Event.timestamp >= since_ms, Event.timestamp < until_ms)
            .group_by(bucket, Event.level)
            .tuples()
        )
    else:
        # Whole hours from the rollup; an hour belongs to the bucket its start falls in.
        bucket = pw.SQL(f'(hour - {int(start)}) / {int(size)}')
        rows = (
            EventCountHourly.select(bucket, EventCountHourly.level, pw.fn.SUM(EventCountHourly.count))
            .where(
                _project_cond(EventCountHourly.project, project_ids),
                EventCountHourly.hour >= since_ms // HOUR_MS * HOUR_MS,
                EventCountHourly.hour < until_ms,
            )
            .group_by(bucket, EventCountHourly.level)
            .tuples()
        )
    for index, level, count in rows:
        index = int(index)
        if 0 <= index < n and level in series:
            series[level][index] += int(count)
    return {'bucket_ms': size, 'buckets': [start + i * size for i in range(n)], 'series': series}


def count_new_issues(project_ids: list[int] | None, since_ms: int, until_ms: int) -> int:
    return (
        Issue.select()
        .where(_project_cond(Issue.project, project_ids), Issue.first_seen >= since_ms, Issue.first_seen < until_ms)
        .count()
    )


def top_issues(project_ids: list[int] | None, since_ms: int, until_ms: int, limit: int = 5) -> list[dict]:
    """Open issues with the most events in [since, until), each with `range_count`: the hourly rollup
    for whole hours, raw events at the edges (as `level_counts`), for the issues seen in the range."""
    open_in_range = (
        _project_cond(Issue.project, project_ids),
        Issue.status == 'open',
        Issue.last_seen >= since_ms,
        Issue.first_seen < until_ms,
    )
    whole, edges = split_at_hours(since_ms, until_ms)
    counts: Counter = Counter()
    if whole is not None:
        whole_hours = (
            IssueCountHourly.select(IssueCountHourly.issue, pw.fn.SUM(IssueCountHourly.count))
            .join(Issue)
            .where(*open_in_range, IssueCountHourly.hour >= whole[0], IssueCountHourly.hour < whole[1])
            .group_by(IssueCountHourly.issue)
        )
        counts.update(dict(whole_hours.tuples()))
    for start, end in edges:
        raw = (
            Event.select(Event.issue, pw.fn.COUNT(Event.seq))
            .join(Issue)
            .where(*open_in_range, Event.timestamp >= start, Event.timestamp < end)
            .group_by(Event.issue)
        )
        counts.update(dict(raw.tuples()))
    top = sorted(((int(n), issue_id) for issue_id, n in counts.items() if n), reverse=True)[:limit]
    issues = {i.id: i for i in Issue.select().where(Issue.id.in_([issue_id for _, issue_id in top]))}
    return [{**issue_to_dict(issues[issue_id]), 'range_count': n} for n, issue_id in top if issue_id in issues]


def home_summary(project_ids: list[int] | None, time_range: TimeRange, recent: int = 8) -> dict:
    """Everything the home page shows for a project selection and a time range, in one call."""
    since_ms, until_ms = time_range.since_ms, time_range.until_ms
    counts = level_counts(project_ids, since_ms, until_ms)
    in_range = EventFilter(project_ids=project_ids, since=time_range.since, until=time_range.until)
    events, _ = list_event_summaries(in_range, recent)
    return {
        'events': sum(counts.values()),
        'errors': sum(counts[level] for level in ERROR_LEVELS),
        'by_level': counts,
        'new_issues': count_new_issues(project_ids, since_ms, until_ms),
        'firing_alerts': count_firing_rules(project_ids),
        'chart': events_over_time(project_ids, since_ms, until_ms),
        'top_issues': top_issues(project_ids, since_ms, until_ms),
        'recent_events': events,
    }


def issue_sparklines(issue_ids: list[int], now_ms: int, hours: int = 24) -> dict[int, list[int]]:
    """Events per hour over the last `hours` for each issue (oldest hour first)."""
    if not issue_ids:
        return {}
    start = (now_ms // HOUR_MS - hours + 1) * HOUR_MS
    bucket = pw.SQL(f'(timestamp - {int(start)}) / {HOUR_MS}')
    rows = (
        Event.select(Event.issue, bucket, pw.fn.COUNT(Event.seq))
        .where(Event.issue.in_(issue_ids), Event.timestamp >= start)
        .group_by(Event.issue, bucket)
        .tuples()
    )
    lines = {i: [0] * hours for i in issue_ids}
    for issue_id, index, count in rows:
        if 0 <= int(index) < hours:
            lines[issue_id][int(index)] = int(count)
    return lines
