"""The raw storage ceiling: plain sqlite3 `executemany` of the server's own rows, 100 per transaction.

The server's schema (tables, indexes, FTS5 and its triggers) and a sample of its stored rows
are copied into a fresh file; what the server does on top of this is what the batch ratio
measures. Since migration 0013 the server indexes events for search in chunks between its
commits; the ceiling does the same, with the server's own statement, every INDEX_CHUNK_EVENTS rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import BenchError, compact, log, machine_busy_s, own_cpu_s, ro_connect

from pulsekit.events.search_index import INDEX_CHUNK_EVENTS, index_next_chunk

FALLBACK_SCHEMA = (
    'CREATE TABLE events (id TEXT PRIMARY KEY, project_id INTEGER NOT NULL, issue_id INTEGER, type TEXT NOT NULL,'
    ' level TEXT NOT NULL, message TEXT, metadata TEXT, stacktrace TEXT, environment TEXT, release TEXT, tags TEXT,'
    ' timestamp DATETIME NOT NULL, inserted_at DATETIME NOT NULL)',
    'CREATE INDEX events_project_ts ON events (project_id, timestamp)',
    'CREATE INDEX events_issue_ts ON events (issue_id, timestamp)',
    'CREATE INDEX events_project_level_ts ON events (project_id, level, timestamp)',
    "CREATE VIRTUAL TABLE events_fts USING fts5(message, type, content='events', content_rowid='rowid')",
    'CREATE TRIGGER events_fts_ai AFTER INSERT ON events BEGIN'
    ' INSERT INTO events_fts (rowid, message, type) VALUES (new.rowid, new.message, new.type); END',
)


@dataclass
class StorageSample:
    source: str  # where the schema and rows come from
    schema: list[str]
    columns: list[str]  # inserted columns (an INTEGER PRIMARY KEY is left to SQLite, as the server does)
    id_column: int | None  # index of the event id in `columns`, replaced by a fresh uuid per row
    id_kind: str  # 'dashed', 'hex' or 'blob'
    rows: list[tuple[Any, ...]]


def id_kind(value: Any) -> str:
    if isinstance(value, bytes):
        return 'blob'
    return 'dashed' if len(str(value)) == 36 else 'hex'


def fresh_id(kind: str) -> Any:
    """A new uuid4 in the form the server stores ids (see id_kind)."""
    u = uuid.uuid4()
    return {'blob': u.bytes, 'dashed': str(u), 'hex': u.hex}[kind]


def sample_from_server_db(db_path: Path, limit: int = 1000) -> StorageSample:
    """The server's own schema (tables, indexes, FTS, triggers) and a sample of its stored rows."""
    with contextlib.closing(ro_connect(db_path)) as db:
        sql = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        schema = [row[0] for row in db.execute(sql)]
        info = db.execute('PRAGMA table_info(events)').fetchall()  # (cid, name, type, notnull, default, pk)
        pks = [c for c in info if c[5]]
        rowid_alias = pks[0][1] if len(pks) == 1 and pks[0][2].upper() == 'INTEGER' else None
        columns = [c[1] for c in info if c[1] != rowid_alias]
        quoted = ', '.join(f'"{c}"' for c in columns)
        rows = db.execute(f'SELECT {quoted} FROM events ORDER BY random() LIMIT ?', (limit,)).fetchall()
    if not rows:
        raise BenchError('no stored event to copy for the sqlite3 ceiling')
    id_column = columns.index('id') if 'id' in columns else None
    kind = id_kind(rows[0][id_column]) if id_column is not None else 'hex'
    source = f'the server schema, {len(rows)} stored rows copied with new ids'
    return StorageSample(source, schema, columns, id_column, kind, rows)


def sample_from_templates(events: list[dict[str, Any]]) -> StorageSample:
    """Before the server exists: rows shaped like ARCHITECTURE.md's events table."""
    now = dt.datetime.now(dt.UTC).isoformat()
    rows = []
    for i, e in enumerate(events):
        rows.append(
            (
                uuid.uuid4().hex,
                1,
                1 + i % 24,
                e['type'],
                e['level'],
                e['message'],
                compact({**e['metadata'], 'exception': e['exception'], 'user': e['user']}),
                compact(e['stacktrace']),
                e['environment'],
                e['release'],
                compact(e['tags']),
                e['timestamp'],
                now,
            )
        )
    columns = 'id project_id issue_id type level message metadata stacktrace environment release tags'
    columns += ' timestamp inserted_at'
    schema = list(FALLBACK_SCHEMA)
    source = 'built-in schema (ARCHITECTURE.md) and the benchmark events'
    return StorageSample(source, schema, columns.split(), 0, 'hex', rows)


def sqlite_ceiling(sample: StorageSample, workdir: Path, seconds: float, per_tx: int = 100) -> dict[str, Any]:
    path = workdir / 'sqlite-ceiling.db'
    for suffix in ('', '-wal', '-shm'):
        Path(f'{path}{suffix}').unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    # The server's pragmas (pulsekit/db.py); foreign keys stay off, as in plain sqlite3.
    db.execute('PRAGMA auto_vacuum = incremental')
    db.execute('PRAGMA journal_mode = wal')
    db.execute('PRAGMA synchronous = normal')
    db.execute('PRAGMA cache_size = -32768')
    db.execute('PRAGMA temp_store = memory')
    for sql in sample.schema:
        try:
            db.execute(sql)
        except sqlite3.OperationalError as exc:
            if 'already exists' not in str(exc):  # FTS5 shadow tables come with their virtual table
                raise
    index_chunks = _SearchIndexChunks(db)
    placeholders = ', '.join('?' * len(sample.columns))
    quoted = ', '.join(f'"{c}"' for c in sample.columns)
    insert = f'INSERT INTO events ({quoted}) VALUES ({placeholders})'

    rows = sample.rows
    n = len(rows)
    log(f'sqlite3 ceiling: executemany, {per_tx} rows per transaction, {seconds:.0f} s ({sample.source})')
    inserted, i = 0, 0
    busy0, own0 = machine_busy_s(), own_cpu_s()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = []
        for _ in range(per_tx):
            row = list(rows[i % n])
            i += 1
            if sample.id_column is not None:
                row[sample.id_column] = fresh_id(sample.id_kind)
            batch.append(row)
        db.execute('BEGIN')
        db.executemany(insert, batch)
        db.execute('COMMIT')
        inserted += per_tx
        index_chunks.after(per_tx)
    elapsed = time.perf_counter() - start
    own = own_cpu_s() - own0
    other = max(0.0, (machine_busy_s() - busy0) - own) / elapsed
    db.close()
    return {
        'rows': inserted,
        'seconds': elapsed,
        'rows_per_s': inserted / elapsed,
        'rows_per_cpu_s': inserted / own if own > 0 else 0.0,
        'source': sample.source,
        'other_processes_cores': other,
    }


class _SearchIndexChunks:
    """The server's full-text index chunks (pulsekit/events/search_index.py), for a schema that has
    them: a transaction of their own once INDEX_CHUNK_EVENTS rows wait."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._waiting = 0
        self.is_deferred = bool(
            db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_index_state'").fetchone()
        )
        if self.is_deferred:
            db.execute('INSERT INTO search_index_state (id, indexed_seq) VALUES (1, 0)')

    def execute_sql(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:  # what index_next_chunk calls
        return self._db.execute(sql, params)

    def after(self, rows: int) -> None:
        self._waiting += rows
        if self.is_deferred and self._waiting >= INDEX_CHUNK_EVENTS:
            self._db.execute('BEGIN')
            index_next_chunk(self, INDEX_CHUNK_EVENTS)
            self._db.execute('COMMIT')
            self._waiting = 0
