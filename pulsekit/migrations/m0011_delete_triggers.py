"""SQLite: an event's DELETE also takes it out of its issue's count and the hourly rollups (triggers).

The mirror of migrations 0005 and 0006. Retention deletes events in small chunks while ingestion
goes on; each statement the writer runs releases the GIL and waits to take it back from the busy
event loop, so a chunk that counted its events in Python and fixed every table by a statement of
its own held the writer 5-25 ms under load. With these triggers a chunk is one DELETE. Counts
never go below 0, and a rollup row that reaches 0 goes. Deleting the issues left empty is the
caller's choice (an open one goes, a resolved or ignored one stays): the partial index finds them.
"""

VERSION = 11
NAME = 'delete_triggers'

HOUR_MS = 3_600_000


def up(db, d):
    if d.name != 'sqlite':
        return
    hour = f'old.timestamp / {HOUR_MS} * {HOUR_MS}'
    db.execute_sql(
        f"""CREATE TRIGGER events_uncount_issue AFTER DELETE ON events WHEN old.issue_id IS NOT NULL BEGIN
            UPDATE issues SET event_count = max(event_count - 1, 0) WHERE id = old.issue_id;
            UPDATE issue_counts_hourly SET count = count - 1 WHERE issue_id = old.issue_id AND hour = {hour};
            DELETE FROM issue_counts_hourly WHERE issue_id = old.issue_id AND hour = {hour} AND count <= 0;
        END"""
    )
    db.execute_sql(
        f"""CREATE TRIGGER events_uncount_hourly AFTER DELETE ON events BEGIN
            UPDATE event_counts_hourly SET count = count - 1
            WHERE project_id = old.project_id AND hour = {hour} AND level = old.level;
            DELETE FROM event_counts_hourly
            WHERE project_id = old.project_id AND hour = {hour} AND level = old.level AND count <= 0;
            UPDATE tag_counts_hourly SET count = count - 1
            WHERE project_id = old.project_id AND hour = {hour}
              AND (key, value) IN (SELECT key, value FROM json_each(old.tags));
            DELETE FROM tag_counts_hourly
            WHERE project_id = old.project_id AND hour = {hour} AND count <= 0
              AND (key, value) IN (SELECT key, value FROM json_each(old.tags));
        END"""
    )
    db.execute_sql("CREATE INDEX issues_emptied ON issues (project_id) WHERE status = 'open' AND event_count <= 0")
