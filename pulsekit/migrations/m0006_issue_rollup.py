"""Hourly event counts per issue, so the home page ranks issues by their events in the chosen
range (not since they began) without scanning the events. Existing events are counted once
here; on SQLite a trigger keeps the counts from then on, on PostgreSQL the writer does."""

VERSION = 6
NAME = 'issue_rollup'

HOUR_MS = 3_600_000


def up(db, d):
    db.execute_sql(
        f"""CREATE TABLE issue_counts_hourly (
            issue_id {d.ref} NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
            hour {d.bigint} NOT NULL,
            count {d.bigint} NOT NULL DEFAULT 0,
            PRIMARY KEY (issue_id, hour))"""
    )
    db.execute_sql(
        f"""INSERT INTO issue_counts_hourly (issue_id, hour, count)
            SELECT issue_id, (timestamp / {HOUR_MS}) * {HOUR_MS}, COUNT(*) FROM events
            WHERE issue_id IS NOT NULL GROUP BY 1, 2"""
    )
    if d.name == 'sqlite':
        db.execute_sql(
            f"""CREATE TRIGGER events_count_issue_hourly AFTER INSERT ON events WHEN new.issue_id IS NOT NULL BEGIN
                INSERT INTO issue_counts_hourly (issue_id, hour, count)
                VALUES (new.issue_id, new.timestamp / {HOUR_MS} * {HOUR_MS}, 1)
                ON CONFLICT (issue_id, hour) DO UPDATE SET count = count + 1;
            END"""
        )
