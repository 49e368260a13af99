"""SQLite: the full-text index is written in chunks behind the events, no longer inside each commit.

FTS5 writes a new segment at every commit that changes its index, and merges segments as they pile
up. Small commits (a few events each, the common case at a moderate rate) made FTS5 the largest
part of a commit: plain SQLite with the server's FTS5 table, 600,000 events, CPU per event with the
index written in the same commit against in chunks of 1,000-2,000 events: commits of 3 events 66
against 24-28 us, commits of 100 50 against 17 us (docs/notes.md, session 21).

`search_index_state.indexed_seq` is the highest seq the index covers: every event at or below it is
indexed, none above it. The writer indexes the events above it in chunks (events/search_index.py),
and a search looks the rest up in a small index of its own (the tail). So the triggers only keep the
index in step for rows it already covers: a delete or an update below the mark, and an insert below
it (an explicit seq, as `pulsekit migrate-data` writes; AUTOINCREMENT never reuses a seq).
"""

VERSION = 13
NAME = 'deferred_search_index'


def up(db, d):
    if d.name != 'sqlite':
        return
    covered = 'SELECT indexed_seq FROM search_index_state'
    statements = [
        'CREATE TABLE search_index_state (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_seq INTEGER NOT NULL)',
        # The index covers every event so far: the old triggers kept it in step.
        'INSERT INTO search_index_state (id, indexed_seq) SELECT 1, coalesce(max(seq), 0) FROM events',
        'DROP TRIGGER events_fts_insert',
        'DROP TRIGGER events_fts_delete',
        'DROP TRIGGER events_fts_update',
        f"""CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.seq <= ({covered}) BEGIN
            INSERT INTO events_fts (rowid, message, type, exception_type, exception_value)
            VALUES (new.seq, new.message, new.type, new.exception_type, new.exception_value);
        END""",
        f"""CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.seq <= ({covered}) BEGIN
            INSERT INTO events_fts (events_fts, rowid, message, type, exception_type, exception_value)
            VALUES ('delete', old.seq, old.message, old.type, old.exception_type, old.exception_value);
        END""",
        f"""CREATE TRIGGER events_fts_update AFTER UPDATE OF message, type, exception_type, exception_value ON events
        WHEN old.seq <= ({covered}) BEGIN
            INSERT INTO events_fts (events_fts, rowid, message, type, exception_type, exception_value)
            VALUES ('delete', old.seq, old.message, old.type, old.exception_type, old.exception_value);
            INSERT INTO events_fts (rowid, message, type, exception_type, exception_value)
            VALUES (new.seq, new.message, new.type, new.exception_type, new.exception_value);
        END""",
    ]
    for sql in statements:
        db.execute_sql(sql)
