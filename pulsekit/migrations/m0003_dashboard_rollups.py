"""Rollups for the dashboard: hourly event counts per project and level, hourly tag-value counts.

The writer maintains both in the same transaction as the events, so charts, cards and tag
facets read a few thousand small rows instead of scanning millions of events. Existing
events are counted once here.
"""

VERSION = 3
NAME = 'dashboard_rollups'

HOUR_MS = 3_600_000


def up(db, d):
    db.execute_sql(
        f"""CREATE TABLE event_counts_hourly (
            project_id {d.ref} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            hour {d.bigint} NOT NULL,
            level VARCHAR(16) NOT NULL,
            count {d.bigint} NOT NULL DEFAULT 0,
            PRIMARY KEY (project_id, hour, level))"""
    )
    db.execute_sql('CREATE INDEX event_counts_hourly_hour ON event_counts_hourly (hour)')
    db.execute_sql(
        f"""CREATE TABLE tag_counts_hourly (
            project_id {d.ref} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            hour {d.bigint} NOT NULL,
            key VARCHAR(64) NOT NULL,
            value VARCHAR(200) NOT NULL,
            count {d.bigint} NOT NULL DEFAULT 0,
            PRIMARY KEY (project_id, hour, key, value))"""
    )
    db.execute_sql('CREATE INDEX tag_counts_hourly_hour ON tag_counts_hourly (hour)')
    db.execute_sql(
        f"""INSERT INTO event_counts_hourly (project_id, hour, level, count)
            SELECT project_id, (timestamp / {HOUR_MS}) * {HOUR_MS}, level, COUNT(*) FROM events
            GROUP BY 1, 2, 3"""
    )
    if d.name == 'sqlite':
        tag_pairs = 'FROM events, json_each(events.tags) AS t WHERE events.tags IS NOT NULL'
        key, value = 't.key', 't.value'
    else:
        tag_pairs = 'FROM events, jsonb_each_text(CAST(events.tags AS jsonb)) AS t WHERE events.tags IS NOT NULL'
        key, value = 't.key', 't.value'
    db.execute_sql(
        f"""INSERT INTO tag_counts_hourly (project_id, hour, key, value, count)
            SELECT project_id, (timestamp / {HOUR_MS}) * {HOUR_MS}, {key}, {value}, COUNT(*) {tag_pairs}
            GROUP BY 1, 2, 3, 4"""
    )
