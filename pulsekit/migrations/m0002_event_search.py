"""Full-text search over events: message, type and exception type and value.

SQLite: an FTS5 index with `events` as its external content, kept in sync by triggers,
keyed by `events.seq` (an INTEGER PRIMARY KEY, so VACUUM never renumbers it). Existing
rows are indexed by the 'rebuild' command. PostgreSQL: a GIN index over a tsvector.
"""

VERSION = 2
NAME = 'event_search'


def up(db, d):
    if d.name == 'postgres':
        db.execute_sql(
            "CREATE INDEX events_search ON events USING GIN (to_tsvector('simple', "
            "coalesce(message, '') || ' ' || type || ' ' || coalesce(exception_type, '') || ' ' || "
            "coalesce(exception_value, '')))"
        )
        return
    statements = [
        """CREATE VIRTUAL TABLE events_fts USING fts5(
            message, type, exception_type, exception_value,
            content='events', content_rowid='seq', tokenize='unicode61 remove_diacritics 2')""",
        """CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
            INSERT INTO events_fts (rowid, message, type, exception_type, exception_value)
            VALUES (new.seq, new.message, new.type, new.exception_type, new.exception_value);
        END""",
        """CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
            INSERT INTO events_fts (events_fts, rowid, message, type, exception_type, exception_value)
            VALUES ('delete', old.seq, old.message, old.type, old.exception_type, old.exception_value);
        END""",
        """CREATE TRIGGER events_fts_update AFTER UPDATE OF message, type, exception_type, exception_value ON events
        BEGIN
            INSERT INTO events_fts (events_fts, rowid, message, type, exception_type, exception_value)
            VALUES ('delete', old.seq, old.message, old.type, old.exception_type, old.exception_value);
            INSERT INTO events_fts (rowid, message, type, exception_type, exception_value)
            VALUES (new.seq, new.message, new.type, new.exception_type, new.exception_value);
        END""",
        "INSERT INTO events_fts (events_fts) VALUES ('rebuild')",
    ]
    for sql in statements:
        db.execute_sql(sql)
