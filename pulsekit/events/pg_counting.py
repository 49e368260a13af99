"""PostgreSQL: what SQLite's triggers do when events are inserted (migrations 0005, 0006), done by the
writer in the same transaction: count the events in their issues and in the hourly rollups.

Why not triggers here too: row triggers fire once per event, and several replicas' writers then
contend for the same issue and rollup rows event by event. Counted per commit instead, a group of a
thousand events updates each issue and rollup row once.

Several replicas write at once, so every statement is relative to the row as it is when the
UPDATE runs (counts added, first/last seen widened, level raised, a resolved issue reopened), never
values computed from an earlier read; and rows are locked in one order (sorted keys), so two
writers wait for each other instead of deadlocking.
"""

from __future__ import annotations

from collections import Counter

import peewee as pw

HOUR_MS = 3_600_000  # rollup bucket, milliseconds

_RANK = "CASE {} WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warning' THEN 2 WHEN 'error' THEN 3 ELSE 4 END"
TRANSIENT_RETRIES = 5  # redos of a group commit that lost a deadlock to another writer
TRANSIENT_SQLSTATES = {'40P01', '40001'}  # deadlock_detected, serialization_failure

# NO KEY UPDATE, the lock the UPDATE itself takes: FOR UPDATE would also wait for the KEY SHARE locks
# that other writers' events (their issue_id foreign keys) hold on the same issues, and deadlock.
_LOCK_ISSUES = 'SELECT id FROM issues WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE'
_UPDATE_ISSUES = f"""UPDATE issues SET
    event_count = issues.event_count + v.n,
    first_seen = LEAST(issues.first_seen, v.first_seen),
    last_seen = GREATEST(issues.last_seen, v.last_seen),
    level = CASE WHEN {_RANK.format('v.level')} > {_RANK.format('issues.level')} THEN v.level ELSE issues.level END,
    is_regression = issues.is_regression OR issues.status = 'resolved',
    resolved_at = CASE WHEN issues.status = 'resolved' THEN NULL ELSE issues.resolved_at END,
    status = CASE WHEN issues.status = 'resolved' THEN 'open' ELSE issues.status END
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[])
        AS v(n, first_seen, last_seen, level, id)
    WHERE issues.id = v.id"""
_ROLLUPS = (
    ('event_counts_hourly', 'project_id, hour, level', ('integer', 'bigint', 'text')),
    ('tag_counts_hourly', 'project_id, hour, key, value', ('integer', 'bigint', 'text', 'text')),
    ('issue_counts_hourly', 'issue_id, hour', ('bigint', 'bigint')),
)


def insert_issue(db: pw.Database, project_id: int, fingerprint: str, sample: dict, level: str, first: int, last: int):
    """The new issue's id, or None when another writer created the same one meanwhile (then it is known)."""
    cursor = db.execute_sql(
        'INSERT INTO issues (project_id, fingerprint, title, culprit, level, status, is_regression, first_seen, '
        "last_seen, event_count) VALUES (%s, %s, %s, %s, %s, 'open', FALSE, %s, %s, 0) "
        'ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id',
        (project_id, fingerprint, sample['_title'], sample['_culprit'], level, first, last),
    )
    row = cursor.fetchone()
    return row[0] if row else None


def update_issues(db: pw.Database, changes: list[tuple[int, int, int, str, int]]) -> None:
    """Add each (events, first seen, last seen, highest level, issue id) to its issue: the rows locked in
    id order first, then one UPDATE for all. These rows stay locked until the commit, and a statement
    per issue would keep the others waiting through a round trip (and a GIL hand-over) per issue."""
    if changes:
        columns = [list(c) for c in zip(*sorted(changes, key=_last), strict=True)]
        db.execute_sql(_LOCK_ISSUES, (columns[4],))
        db.execute_sql(_UPDATE_ISSUES, columns)


def count_rollups(db: pw.Database, fresh: list[tuple[int, dict]], issue_ids: dict[tuple[int, str], int]) -> None:
    """Count the inserted events in the hourly rollups: per level, per tag value, per issue."""
    levels: Counter = Counter()
    tags: Counter = Counter()
    issues: Counter = Counter()
    for project_id, event in fresh:
        hour = event['timestamp'] // HOUR_MS * HOUR_MS
        levels[project_id, hour, event['level']] += 1
        for key, value in (event['tags'] or {}).items():
            tags[project_id, hour, key, value] += 1
        issue_id = issue_ids.get((project_id, event.get('_fingerprint')))
        if issue_id is not None:
            issues[issue_id, hour] += 1
    # One statement per table, its rows in key order (one lock order for every writer): the current
    # hour's rows are the hottest of the database, locked from here to the commit.
    for (table, columns, types), counts in zip(_ROLLUPS, (levels, tags, issues), strict=True):
        if counts:
            rows = sorted(counts.items())
            arrays = [list(c) for c in zip(*(key for key, _ in rows), strict=True)] + [[n for _, n in rows]]
            unnest = ', '.join(f'%s::{t}[]' for t in (*types, 'bigint'))
            order = ', '.join(str(i + 1) for i in range(len(types)))
            db.execute_sql(
                f'INSERT INTO {table} ({columns}, count) SELECT * FROM unnest({unnest}) ORDER BY {order} '
                f'ON CONFLICT ({columns}) DO UPDATE SET count = {table}.count + excluded.count',
                arrays,
            )


def copy_events(db: pw.Database, columns: tuple[str, ...], rows: list[tuple]) -> int:
    """Insert many events by COPY: no statement to parse and no parameters to bind per row. COPY has no
    ON CONFLICT, so an id stored before (a client's retry) fails the whole COPY, like any other
    error; the writer then redoes the group with its id lookup, which inserts only what is new."""
    cursor = db.cursor()
    with pw.__exception_wrapper__, cursor.copy(f'COPY events ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def is_transient(exc: BaseException | None) -> bool:
    """A deadlock or serialization failure anywhere in the chain (Peewee wraps psycopg's errors)."""
    for _ in range(8):
        if exc is None:
            return False
        if getattr(exc, 'sqlstate', None) in TRANSIENT_SQLSTATES:
            return True
        if exc.args and isinstance(exc.args[0], BaseException) and is_transient(exc.args[0]):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _last(change: tuple) -> int:
    return change[-1]
