"""SQLite: the event id is indexed by block of consecutive seqs, not by a UNIQUE index of its own.

Event ids are random (uuid4). A unique index over them takes each new id to a random leaf, and once
the index has more leaves than a commit has events, every event dirties a leaf of its own: a page
more per event in the WAL and in each checkpoint. Sustained batch ingest slowed from 10.5-11k to
7.8-9.7k events/s over its first 1M events (docs/notes.md, session 9). Indexed as (seq_block, id),
new ids land only in the newest block's few leaves, as cheap as an index on time.

Without the UNIQUE constraint the writer keeps ids unique itself: the only writer of a SQLite file
checks each id against a filter of the stored ids, and looks up the few it may hold
(events/event_ids.py). Looking an id up probes each block (a skip-scan); the row written into
sqlite_stat1 tells the planner it may, before ANALYZE ever ran. PostgreSQL keeps its unique index.

SQLite cannot drop a UNIQUE constraint, so the table is rebuilt: a copy of every row (minutes for
millions of events, once, with about the table's size free on disk). Its indexes and triggers are
created again from their own SQL, and AUTOINCREMENT keeps the highest seq it ever gave.
"""

VERSION = 12
NAME = 'event_id_blocks'

SEQ_BLOCK_BITS = 13  # 8,192 events a block: the newest block's ids fill ~130 leaves
COLUMNS = (
    'seq, id, project_id, issue_id, type, level, message, exception_type, exception_value, exception, '
    'stacktrace, metadata, environment, release, tags, "user", fingerprint, timestamp, received_at'
)


def up(db, d):
    if d.name != 'sqlite':
        return
    row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    highest_seq = row[0] if row else 0
    recreate = [
        sql
        for (sql,) in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('index', 'trigger') "
            'AND sql IS NOT NULL ORDER BY type, name'
        ).fetchall()
    ]
    db.execute_sql(
        f"""CREATE TABLE events_rebuilt (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id VARCHAR(40) NOT NULL,
            project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            issue_id INTEGER REFERENCES issues (id) ON DELETE SET NULL,
            type VARCHAR(100) NOT NULL,
            level VARCHAR(16) NOT NULL,
            message TEXT,
            exception_type VARCHAR(256),
            exception_value TEXT,
            exception TEXT,
            stacktrace TEXT,
            metadata TEXT,
            environment VARCHAR(64),
            release VARCHAR(200),
            tags TEXT,
            "user" TEXT,
            fingerprint TEXT,
            timestamp INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            seq_block INTEGER GENERATED ALWAYS AS (seq >> {SEQ_BLOCK_BITS}) VIRTUAL)"""
    )
    db.execute_sql(f'INSERT INTO events_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM events ORDER BY seq')
    # The DROP's implicit DELETE fires no trigger: the issues' counts and the rollups stay as they are,
    # and the search index (external content, keyed by seq) still matches the copied rows.
    db.execute_sql('DROP TABLE events')
    db.execute_sql('ALTER TABLE events_rebuilt RENAME TO events')
    for sql in recreate:
        db.execute_sql(sql)
    db.execute_sql('CREATE INDEX events_seq_block_id ON events (seq_block, id)')
    db.execute_sql("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'", (highest_seq,))
    if highest_seq and not db.execute_sql("SELECT 1 FROM sqlite_sequence WHERE name = 'events'").fetchone():
        db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (highest_seq,))
    # ANALYZE of a small table creates sqlite_stat1 if needed; the row then says what a large events
    # table looks like (many rows a block, ids unique), so `WHERE id = ?` probes each block instead
    # of reading the table, however few rows it holds today. `ANALYZE sqlite_schema` loads it.
    db.execute_sql('ANALYZE schema_migrations')
    db.execute_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'events' AND idx = 'events_seq_block_id'")
    db.execute_sql(
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('events', 'events_seq_block_id', ?)",
        (f'1000000 {1 << SEQ_BLOCK_BITS} 1',),
    )
    db.execute_sql('ANALYZE sqlite_schema')
