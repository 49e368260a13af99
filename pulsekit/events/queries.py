"""Read side of events and issues: filtered, cursor-paginated lists and single lookups.

The read API and the dashboard call these same functions. Lists are newest first and page
with an opaque cursor (the last row's sort key), which stays stable while events arrive.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
import peewee as pw

from ..db import get_visible, json_text
from ..errors import InvalidRequest, NotFound
from ..ids import MAX_ROW_ID, parse_row_id
from ..labels import labels_of_issues
from ..models import ISSUE_STATUSES, Event, Issue, IssueLabel, JSONField, from_millis, to_millis
from .search import full_text_condition, recent_match_seqs

MAX_PAGE = 200
DEFAULT_PAGE = 50
FTS_CANDIDATES = 2000  # newest full-text matches a search page is picked from (see _recent_text_matches)
JSON_COLUMNS = frozenset(f.name for f in Event._meta.sorted_fields if isinstance(f, JSONField))
_LISTED = (
    Event.seq, Event.id, Event.project, Event.issue, Event.type, Event.level, Event.message,
    Event.environment, Event.release, Event.timestamp, Event.received_at,
)  # fmt: skip
# Stored values, unconverted (see _page): hex or UUID ids, epoch millis, JSON text.
SUMMARY_COLUMNS = tuple(c.coerce(False) for c in (*_LISTED, Event.exception_type, Event.exception_value))
EVENT_COLUMNS = tuple(c.coerce(False) for c in (*_LISTED, *(getattr(Event, name) for name in sorted(JSON_COLUMNS))))
ISSUE_SORTS = {'last_seen': Issue.last_seen, 'first_seen': Issue.first_seen, 'event_count': Issue.event_count}


@dataclass
class EventFilter:
    project_ids: list[int] | None = None  # None: every project
    levels: list[str] = field(default_factory=list)
    type: str | None = None
    environment: str | None = None
    release: str | None = None
    issue_id: int | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    exclude: list[tuple[str, str]] = field(default_factory=list)  # (level|type|environment|release|tag key, value)


@dataclass
class IssueFilter:
    project_ids: list[int] | None = None
    status: str | None = None
    levels: list[str] = field(default_factory=list)
    sort: str = 'last_seen'
    seen_since: datetime | None = None  # issues with events in [seen_since, seen_until): seen in a time range
    seen_until: datetime | None = None
    label_ids: list[int] | None = None  # issues carrying any of these labels ([]: a label that matched nothing)


def encode_cursor(*values) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip('=')


def decode_cursor(cursor: str, size: int) -> list:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + '=' * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidRequest('cursor is not valid; pass the next_cursor of the previous page', 'cursor') from None
    # Every value is bound into SQL: beyond 64 bits the driver raises instead of finding nothing.
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(v, int) and -MAX_ROW_ID <= v <= MAX_ROW_ID for v in values)
    ):
        raise InvalidRequest('cursor is not valid; pass the next_cursor of the previous page', 'cursor')
    return values


def event_conditions(f: EventFilter) -> list[pw.Expression]:
    """WHERE conditions for an event filter (shared by lists, counts and facets)."""
    conds = []
    if f.project_ids is not None:
        conds.append(Event.project.in_(f.project_ids) if len(f.project_ids) != 1 else Event.project == f.project_ids[0])
    if f.levels:
        conds.append(Event.level.in_(f.levels) if len(f.levels) > 1 else Event.level == f.levels[0])
    if f.type:
        conds.append(Event.type == f.type)
    if f.environment:
        conds.append(Event.environment == f.environment)
    if f.release:
        conds.append(Event.release == f.release)
    if f.issue_id is not None:
        conds.append(Event.issue == f.issue_id)
    db = Event._meta.database
    for key, value in f.tags:
        conds.append(json_text(db, Event.tags, key) == value)
    if f.since:
        conds.append(Event.timestamp >= to_millis(f.since))
    if f.until:
        conds.append(Event.timestamp < to_millis(f.until))
    for key, value in f.exclude:
        column = {'level': Event.level, 'type': Event.type, 'environment': Event.environment, 'release': Event.release}
        field_ = column.get(key) or json_text(db, Event.tags, key)
        conds.append(field_.is_null() | (field_ != value))  # an event without the field is not excluded
    if f.q:
        condition = full_text_condition(db, f.q)
        if condition is not None:
            conds.append(condition)
    return conds


def list_events(
    f: EventFilter, limit: int = DEFAULT_PAGE, cursor: str | None = None, *, as_stored_json: bool = False
) -> tuple[list[dict], str | None]:
    """A page of events matching the filter, newest first, and the cursor of the next page.

    `as_stored_json`: the JSON columns (exception, stacktrace, metadata, tags, user, fingerprint) come
    back as `orjson.Fragment`s of the stored text, for answers that only serialise them again. Decoding
    them (a Sentry event's can be ~15 KB) and encoding them back was most of a read's CPU, taken with
    the GIL held from the event loop that acknowledges events: a page of 50 cost 7 ms, now 3.
    """
    rows, next_cursor = _page(f, limit, cursor, EVENT_COLUMNS)
    as_json = _stored_json if as_stored_json else _decoded_json
    return [_listed(row, as_json) for row in rows], next_cursor


def list_event_summaries(
    f: EventFilter, limit: int = DEFAULT_PAGE, cursor: str | None = None
) -> tuple[list[dict], str | None]:
    """Like list_events, with what a list of events shows: no stack trace, tags, user, metadata or
    fingerprint, and of the exception only its type and value (the columns search reads, so nothing
    is decoded). The dashboard refreshes its lists every few seconds per open page."""
    rows, next_cursor = _page(f, limit, cursor, SUMMARY_COLUMNS)
    return [_listed(row, None) for row in rows], next_cursor


def _page(f: EventFilter, limit: int, cursor: str | None, columns: tuple) -> tuple[list[dict], str | None]:
    """The rows as dicts of stored values: Peewee turning each into a model with a UUID and two datetimes
    cost more than SQLite's whole query (1.1 ms against 0.2 for a page of 50)."""
    limit = max(1, min(limit, MAX_PAGE))
    cursor_conds = []
    if cursor:
        ts, seq = decode_cursor(cursor, 2)
        cursor_conds.append((Event.timestamp < ts) | ((Event.timestamp == ts) & (Event.seq < seq)))
    query = Event.select(*columns).order_by(Event.timestamp.desc(), Event.seq.desc()).limit(limit + 1).dicts()
    rows = _recent_text_matches(f, query, cursor_conds, limit) if f.q else None
    if rows is None:
        conds = event_conditions(f) + cursor_conds
        rows = list(query.where(*conds) if conds else query)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]['timestamp'], rows[-1]['seq'])
    return rows, next_cursor


def _listed(row: dict, as_json: Callable[[str | None], Any] | None) -> dict:
    """A row of stored values (see _page) shaped as event_to_dict shapes an event, with the JSON
    columns through `as_json`; None: a summary (see list_event_summaries)."""
    event_id = row['id']
    event = {
        'id': str(event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(event_id)),  # hex text in SQLite
        'project_id': row['project'],
        'issue_id': row['issue'],
        'type': row['type'],
        'level': row['level'],
        'message': row['message'],
        'exception': _exception_summary(row) if as_json is None else as_json(row['exception']),
    }
    if as_json is not None:
        event['stacktrace'] = as_json(row['stacktrace'])
    event['environment'] = row['environment']
    event['release'] = row['release']
    if as_json is not None:
        event['tags'] = as_json(row['tags']) or {}
        event['user'] = as_json(row['user'])
        event['metadata'] = as_json(row['metadata'])
        event['fingerprint'] = as_json(row['fingerprint'])
    event['timestamp'] = format_millis(row['timestamp'])
    event['received_at'] = format_millis(row['received_at'])
    return event


def _exception_summary(row: dict) -> dict | None:
    if row['exception_type'] is None:
        return None
    if row['exception_value'] is None:
        return {'type': row['exception_type']}
    return {'type': row['exception_type'], 'value': row['exception_value']}


def _recent_text_matches(f: EventFilter, query: pw.Query, cursor_conds: list, limit: int) -> list[dict] | None:
    """Full-text search, fast path: take the newest FTS_CANDIDATES matches by arrival (the index walks
    its rowids backwards and stops early) and apply the other filters to those. Exact when the term
    has fewer matches than that; otherwise good as long as the page fills up, which a common term
    does. None: use the general query (a common term with a selective filter, a later page)."""
    seqs = recent_match_seqs(Event._meta.database, f.q or '', FTS_CANDIDATES)
    if seqs is None:
        return None
    conds = [*event_conditions(replace(f, q=None)), *cursor_conds]
    if not seqs:
        return []
    # The candidates go in as one JSON parameter (Peewee building 2,000 bound values held the GIL ~10 ms,
    # and ingest's p99 under a polling search followed), and the sort sees only their keys: whole rows
    # in the sorter cost SQLite twice the time. 29 → 12 ms for a page of a common term.
    candidates = pw.SQL('(SELECT value FROM json_each(?))', (orjson.dumps(seqs).decode(),))
    page = query.select(Event.seq).where(Event.seq.in_(candidates), *conds)
    rows = list(query.where(Event.seq.in_(page)))
    if len(seqs) < FTS_CANDIDATES or len(rows) > limit:
        return rows
    return None


def get_event(event_id: str, project_ids: list[int] | None = None) -> dict:
    """One event by its UUID (restricted to `project_ids` when given)."""
    try:
        parsed = uuid.UUID(str(event_id))
    except ValueError:
        raise NotFound(f'no event {event_id}', 'id') from None
    return event_to_dict(get_visible(Event, Event.id == parsed, project_ids, f'no event {event_id}'))


def list_issues(f: IssueFilter, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> tuple[list[dict], str | None]:
    """A page of issues, sorted by `f.sort` descending, and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    if f.sort not in ISSUE_SORTS:
        raise InvalidRequest(f'sort must be one of {", ".join(ISSUE_SORTS)}', 'sort')
    if f.status and f.status not in ISSUE_STATUSES:
        raise InvalidRequest(f'status must be one of {", ".join(ISSUE_STATUSES)}', 'status')
    column = ISSUE_SORTS[f.sort]
    conds = []
    if f.project_ids is not None:
        conds.append(Issue.project.in_(f.project_ids))
    if f.status:
        conds.append(Issue.status == f.status)
    if f.levels:
        conds.append(Issue.level.in_(f.levels))
    if f.label_ids is not None:
        conds.append(Issue.id.in_(IssueLabel.select(IssueLabel.issue).where(IssueLabel.label.in_(f.label_ids or [0]))))
    if f.seen_since is not None:
        conds.append(Issue.last_seen >= f.seen_since)
    if f.seen_until is not None:
        conds.append(Issue.first_seen < f.seen_until)
    if cursor:
        value, issue_id = decode_cursor(cursor, 2)
        conds.append((column < value) | ((column == value) & (Issue.id < issue_id)))
    query = Issue.select().order_by(column.desc(), Issue.id.desc()).limit(limit + 1)
    if conds:
        query = query.where(*conds)
    rows = list(query)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = getattr(last, f.sort)
        next_cursor = encode_cursor(value if isinstance(value, int) else to_millis(value), last.id)
    labels = labels_of_issues([r.id for r in rows])
    return [{**issue_to_dict(r), 'labels': labels.get(r.id, [])} for r in rows], next_cursor


def get_issue(issue_id: int, project_ids: list[int] | None = None) -> dict:
    if parse_row_id(issue_id) is None:  # e.g. a dashboard URL /issues/99999999999999999999
        raise NotFound(f'no issue {issue_id}', 'id')
    return issue_to_dict(get_visible(Issue, Issue.id == issue_id, project_ids, f'no issue {issue_id}'))


def format_millis(millis: int) -> str:
    return format_time(from_millis(millis))


def format_time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds, as the protocol prints times."""
    if value is None:
        return None
    return value.isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def event_to_dict(row: Event) -> dict:
    return {
        'id': str(row.id),
        'project_id': row.project_id,
        'issue_id': row.issue_id,
        'type': row.type,
        'level': row.level,
        'message': row.message,
        'exception': row.exception,
        'stacktrace': row.stacktrace,
        'environment': row.environment,
        'release': row.release,
        'tags': row.tags or {},
        'user': row.user,
        'metadata': row.metadata,
        'fingerprint': row.fingerprint,
        'timestamp': format_time(row.timestamp),
        'received_at': format_time(row.received_at),
    }


def _stored_json(text: str | None) -> orjson.Fragment | None:
    return None if text is None else orjson.Fragment(text)


def _decoded_json(text: str | None):
    return None if text is None else orjson.loads(text)


def issue_to_dict(row: Issue) -> dict:
    return {
        'id': row.id,
        'project_id': row.project_id,
        'fingerprint': row.fingerprint,
        'title': row.title,
        'culprit': row.culprit,
        'level': row.level,
        'status': row.status,
        'is_regression': row.is_regression,
        'first_seen': format_time(row.first_seen),
        'last_seen': format_time(row.last_seen),
        'event_count': row.event_count,
    }
