"""SQLite: an event's INSERT also counts it in its issue and in the hourly rollups (triggers).

Why triggers: the writer shares the GIL with the event loop, and every statement it runs
releases the GIL and must wait to take it back. Done by triggers, one multi-row INSERT per
commit updates the issues and both rollups inside SQLite. What the triggers do is what the
writer does itself on PostgreSQL (events/writer.py): count the event, widen first/last seen,
raise the level, and reopen a resolved issue as a regression.
"""

VERSION = 5
NAME = 'ingest_triggers'

LEVEL_RANK = "CASE {} WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warning' THEN 2 WHEN 'error' THEN 3 ELSE 4 END"
HOUR_MS = 3_600_000


def up(db, d):
    if d.name != 'sqlite':
        return
    db.execute_sql(
        f"""CREATE TRIGGER events_count_issue AFTER INSERT ON events WHEN new.issue_id IS NOT NULL BEGIN
            UPDATE issues SET
                event_count = event_count + 1,
                first_seen = min(first_seen, new.timestamp),
                last_seen = max(last_seen, new.timestamp),
                level = CASE WHEN {LEVEL_RANK.format('new.level')} > {LEVEL_RANK.format('level')}
                             THEN new.level ELSE level END,
                is_regression = CASE WHEN status = 'resolved' THEN 1 ELSE is_regression END,
                resolved_at = CASE WHEN status = 'resolved' THEN NULL ELSE resolved_at END,
                status = CASE WHEN status = 'resolved' THEN 'open' ELSE status END
            WHERE id = new.issue_id;
        END"""
    )
    db.execute_sql(
        f"""CREATE TRIGGER events_count_hourly AFTER INSERT ON events BEGIN
            INSERT INTO event_counts_hourly (project_id, hour, level, count)
            VALUES (new.project_id, new.timestamp / {HOUR_MS} * {HOUR_MS}, new.level, 1)
            ON CONFLICT (project_id, hour, level) DO UPDATE SET count = count + 1;
            INSERT INTO tag_counts_hourly (project_id, hour, key, value, count)
            SELECT new.project_id, new.timestamp / {HOUR_MS} * {HOUR_MS}, key, value, 1
            FROM json_each(new.tags) WHERE true
            ON CONFLICT (project_id, hour, key, value) DO UPDATE SET count = count + 1;
        END"""
    )
