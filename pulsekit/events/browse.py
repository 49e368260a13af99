"""What the dashboard's list and detail pages read, each in one call (run off the event loop):
a page of events with its total, the filter choices, a page of issues with sparklines, an issue
with its events, an event with its issue."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..errors import NotFound
from ..models import Event, now_utc, to_millis
from .filters import is_countable
from .queries import EventFilter, IssueFilter, get_event, get_issue, list_event_summaries, list_issues
from .stats import issue_sparklines, level_counts

RECENT_EVENTS_FOR_CHOICES = 5000
ISSUE_PAGE_EVENTS = 25
# Open-ended ranges count up to a little past now: clients may send timestamps slightly ahead.
FUTURE_SLACK = timedelta(minutes=10)


def event_page(f: EventFilter, limit: int, cursor: str | None = None, *, now: datetime | None = None) -> dict:
    """{'events', 'next_cursor', 'total'}: total is exact when the rollup can count the filter, else None."""
    events, next_cursor = list_event_summaries(f, limit, cursor)
    total = None
    if is_countable(f) and f.since is not None:
        until = f.until or (now or now_utc()) + FUTURE_SLACK
        counts = level_counts(f.project_ids, to_millis(f.since), to_millis(until), f.levels or None)
        total = sum(counts.values())
    return {'events': events, 'next_cursor': next_cursor, 'total': total}


def filter_choices(project_ids: list[int] | None = None) -> dict[str, list[str]]:
    """Types, environments and releases among the most recent events (a bounded read)."""
    recent = Event.select(Event.type, Event.environment, Event.release).order_by(Event.timestamp.desc())
    if project_ids is not None:
        recent = recent.where(Event.project.in_(project_ids))
    types, environments, releases = set(), set(), set()
    for event_type, environment, release in recent.limit(RECENT_EVENTS_FOR_CHOICES).tuples():
        types.add(event_type)
        if environment:
            environments.add(environment)
        if release:
            releases.add(release)
    return {'types': sorted(types), 'environments': sorted(environments), 'releases': sorted(releases)}


def has_events(project_ids: list[int] | None = None) -> bool:
    query = Event.select(Event.seq)
    if project_ids is not None:
        query = query.where(Event.project.in_(project_ids))
    return query.exists()


def issue_page(f: IssueFilter, limit: int, cursor: str | None = None, *, now: datetime | None = None) -> dict:
    """{'issues', 'next_cursor', 'lines'}: lines are each issue's events per hour over the last 24 h."""
    issues, next_cursor = list_issues(f, limit, cursor)
    lines = issue_sparklines([i['id'] for i in issues], to_millis(now or now_utc()))
    return {'issues': issues, 'next_cursor': next_cursor, 'lines': lines}


def issue_overview(issue_id: int, *, now: datetime | None = None) -> dict | None:
    """{'issue', 'events' (newest first, summaries), 'latest' (the newest event in full, or None),
    'line'} or None when there is no such issue."""
    try:
        issue = get_issue(issue_id)
    except NotFound:
        return None
    events, _ = list_event_summaries(EventFilter(issue_id=issue_id), ISSUE_PAGE_EVENTS)
    latest = None
    if events:
        try:
            latest = get_event(events[0]['id'])
        except NotFound:  # deleted since (retention, a project's deletion)
            latest = None
    line = issue_sparklines([issue_id], to_millis(now or now_utc()))[issue_id]
    return {'issue': issue, 'events': events, 'latest': latest, 'line': line}


def event_with_issue(event_id: str) -> tuple[dict | None, dict | None]:
    """An event and its issue (either None when missing)."""
    try:
        event = get_event(event_id)
    except NotFound:
        return None, None
    issue = None
    if event['issue_id'] is not None:
        try:
            issue = get_issue(event['issue_id'])
        except NotFound:
            issue = None
    return event, issue
