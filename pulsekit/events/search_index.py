"""SQLite's full-text index, written behind the events in chunks (migration 0013).

The writer indexes the events above `search_index_state.indexed_seq` a chunk at a time, between
two of its commits: FTS5 then writes one segment per chunk instead of one per commit. A search
sees the events not yet indexed through the tail: a small FTS5 index of its own connection's temp
schema (same tokenizer), filled with them just before the search runs. So search stays exact while
the index lags behind by at most a chunk or INDEX_DELAY_S.

PostgreSQL's GIN index is kept in step by PostgreSQL itself: nothing here runs there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import peewee as pw

# The most events one chunk indexes: ~10 ms of the writer's time, so the requests queued behind
# a chunk wait about as long as behind one large batch.
INDEX_CHUNK_EVENTS = 2_000
INDEX_DUE_EVENTS = 1_000  # this many events waiting are indexed at once
INDEX_DELAY_S = 1.0  # fewer wait at most this long (a quiet server indexes each event within a second)
INDEX_RETRY_S = 5.0  # after a chunk failed (a full disk, say): the events stay searchable through the tail

_COLUMNS = 'message, type, exception_type, exception_value'
TAIL_TABLE = 'events_fts_tail'  # in each reading connection's temp schema
TAIL_MATCHES = f'SELECT rowid FROM temp.{TAIL_TABLE} WHERE {TAIL_TABLE} MATCH ?'  # an FTS5 query's seqs there
_NOT_INDEXED = 'seq > (SELECT indexed_seq FROM search_index_state)'


def index_next_chunk(db: pw.Database, max_events: int = INDEX_CHUNK_EVENTS) -> int:
    """Index the oldest events the index does not cover yet, at most `max_events`, inside the caller's
    transaction; how many it indexed."""
    upto, count = db.execute_sql(
        f'SELECT max(seq), count(*) FROM (SELECT seq FROM events WHERE {_NOT_INDEXED} ORDER BY seq LIMIT ?)',
        (max_events,),
    ).fetchone()
    if not count:
        return 0
    db.execute_sql(
        f'INSERT INTO events_fts (rowid, {_COLUMNS}) SELECT seq, {_COLUMNS} FROM events '
        f'WHERE {_NOT_INDEXED} AND seq <= ?',
        (upto,),
    )
    db.execute_sql('UPDATE search_index_state SET indexed_seq = ?', (upto,))
    return count


def index_everything(db: pw.Database) -> int:
    """Index every event the index does not cover yet (a copy into a new SQLite file); how many."""
    total = 0
    while count := index_next_chunk(db, 50_000):
        total += count
    return total


def events_not_indexed(db: pw.Database) -> int:
    """How many events wait for the index (the writer at start-up, tests)."""
    (count,) = db.execute_sql(f'SELECT count(*) FROM events WHERE {_NOT_INDEXED}').fetchone()
    return count


def refresh_tail(db: pw.Database) -> bool:
    """Fill this connection's tail index with the events the main index does not cover yet, for the
    search about to run on the same connection; False when there are none (the search then reads
    the main index alone)."""
    db.execute_sql(
        f'CREATE VIRTUAL TABLE IF NOT EXISTS temp.{TAIL_TABLE} USING fts5({_COLUMNS}, '
        "content='', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute_sql(f"INSERT INTO temp.{TAIL_TABLE} ({TAIL_TABLE}) VALUES ('delete-all')")
    cursor = db.execute_sql(
        f'INSERT INTO temp.{TAIL_TABLE} (rowid, {_COLUMNS}) SELECT seq, {_COLUMNS} FROM events WHERE {_NOT_INDEXED}'
    )
    return cursor.rowcount > 0


class IndexSchedule:
    """When the writer indexes the next chunk: once INDEX_DUE_EVENTS events wait, or INDEX_DELAY_S
    after the first of fewer arrived. The counts are the writer's own (events it committed); the
    chunk itself asks the database what is left."""

    def __init__(self, delay_s: float = INDEX_DELAY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._delay_s = delay_s
        self._clock = clock
        self._waiting = 0
        self._due_at: float | None = None

    def note_left_unindexed(self, events: int) -> None:
        """At start-up: events stored before (a restart, a kill) that the index does not cover, due at once."""
        self._waiting = events
        self._due_at = self._clock() if events else None

    def note_stored(self, events: int) -> None:
        if events <= 0:
            return
        self._waiting += events
        if self._due_at is None:
            self._due_at = self._clock() + self._delay_s
        if self._waiting >= INDEX_DUE_EVENTS:
            self._due_at = min(self._due_at, self._clock())

    @property
    def waiting(self) -> int:
        """Events this process stored that the index does not cover yet."""
        return self._waiting

    def due_in_s(self) -> float | None:
        """Seconds until the next chunk is due (0: now); None when nothing waits."""
        if self._due_at is None:
            return None
        return max(0.0, self._due_at - self._clock())

    def note_indexed(self, events: int, max_events: int = INDEX_CHUNK_EVENTS) -> None:
        if events >= max_events:  # a full chunk: there may be more, look again at once
            self._waiting = max(self._waiting - events, 1)
            self._due_at = self._clock()
        else:
            self._waiting = 0
            self._due_at = None

    def note_failed(self) -> None:
        self._due_at = self._clock() + INDEX_RETRY_S
