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
_UPDATE_ISSUE = f"""UPDATE issues SET
    event_count = event_count + %s,
    first_seen = LEAST(first_seen, %s),
    last_seen = GREATEST(last_seen, %s),
    level = CASE WHEN {_RANK.format('%s')} > {_RANK.format('level')} THEN %s ELSE level END,
    is_regression = is_regression OR status = 'resolved',
    resolved_at = CASE WHEN status = 'resolved' THEN NULL ELSE resolved_at END,
    status = CASE WHEN status = 'resolved' THEN 'open' ELSE status END
    WHERE id = %s"""
_ROLLUPS = (
    ('event_counts_hourly', 'project_id, hour, level'),
    ('tag_counts_hourly', 'project_id, hour, key, value'),
    ('issue_counts_hourly', 'issue_id, hour'),
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
    """Add each (events, first seen, last seen, highest level, issue id) to its issue."""
    rows = [(n, first, last, level, level, issue_id) for n, first, last, level, issue_id in sorted(changes, key=_last)]
    if rows:
        db.cursor().executemany(_UPDATE_ISSUE, rows)


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
    for (table, columns), counts in zip(_ROLLUPS, (levels, tags, issues), strict=True):
        if counts:
            params = ', '.join(['%s'] * (columns.count(',') + 2))
            db.cursor().executemany(
                f'INSERT INTO {table} ({columns}, count) VALUES ({params}) '
                f'ON CONFLICT ({columns}) DO UPDATE SET count = {table}.count + excluded.count',
                [(*key, n) for key, n in sorted(counts.items())],
            )


def _last(change: tuple) -> int:
    return change[-1]
