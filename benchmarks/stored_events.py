"""What the server stored (read-only, in its SQLite file or PostgreSQL database), against what the
202s promised.

Reads never run while holding a write lock; `settle` waits for the writer to drain first.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness import BenchError, Server, log, ro_connect
from wrk_load import WrkResult


class IdFormat:
    """How the server stores event ids: dashed text, 32-hex text or 16-byte blob."""

    def __init__(self, db: sqlite3.Connection) -> None:
        row = db.execute('SELECT id FROM events LIMIT 1').fetchone()
        if row is None:
            raise BenchError('no event was stored')
        value = row[0]
        if isinstance(value, bytes) and len(value) == 16:
            self.kind = 'blob'
            self.phase_expr = 'hex(substr(id, 7, 2))'  # third group: 4 + phase
        elif isinstance(value, str) and len(value) == 36:
            self.kind = 'dashed'
            self.phase_expr = 'lower(substr(id, 15, 4))'
        elif isinstance(value, str) and len(value) == 32:
            self.kind = 'hex'
            self.phase_expr = 'lower(substr(id, 13, 4))'
        else:
            raise BenchError(f'unexpected event id format in the database: {value!r}')

    def phase_value(self, nonce: int) -> str:
        value = f'4{nonce:03x}'
        return value.upper() if self.kind == 'blob' else value

    def encode(self, event_id: str) -> str | bytes:
        u = uuid.UUID(event_id)
        return {'blob': u.bytes, 'dashed': str(u), 'hex': u.hex}[self.kind]


class SqliteEvents:
    """The events of a server's SQLite file, read-only (never while holding its write lock)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._fmt: IdFormat | None = None

    def _format(self) -> IdFormat:
        if self._fmt is None:  # known once an event is stored
            with contextlib.closing(ro_connect(self.db_path)) as db:
                self._fmt = IdFormat(db)
        return self._fmt

    def count_phase(self, nonce: int) -> int:
        fmt = self._format()
        with contextlib.closing(ro_connect(self.db_path)) as db:
            sql = f'SELECT count(*) FROM events WHERE {fmt.phase_expr} = ?'
            return db.execute(sql, (fmt.phase_value(nonce),)).fetchone()[0]

    def count_ids(self, ids: list[str]) -> int:
        fmt = self._format()
        found = 0
        with contextlib.closing(ro_connect(self.db_path)) as db:
            for i in range(0, len(ids), 500):
                chunk = [fmt.encode(x) for x in ids[i : i + 500]]
                sql = f'SELECT count(*) FROM events WHERE id IN ({",".join("?" * len(chunk))})'
                found += db.execute(sql, chunk).fetchone()[0]
        return found

    def count_all(self) -> int:
        with contextlib.closing(ro_connect(self.db_path)) as db:
            return db.execute('SELECT count(*) FROM events').fetchone()[0]


class PostgresEvents:
    """The events of a PostgreSQL database (native uuid ids), one short connection per question."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _scalar(self, sql: str, params: tuple = ()) -> int:
        import psycopg  # only the PostgreSQL runs need it

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchone()[0]

    def count_phase(self, nonce: int) -> int:
        # third group of the id: '4' (the version) + the phase, as in ingest.lua.tmpl
        return self._scalar('SELECT count(*) FROM events WHERE substr(id::text, 15, 4) = %s', (f'4{nonce:03x}',))

    def count_ids(self, ids: list[str]) -> int:
        return self._scalar('SELECT count(*) FROM events WHERE id = ANY(%s::uuid[])', (ids,)) if ids else 0

    def count_all(self) -> int:
        return self._scalar('SELECT count(*) FROM events')


EventStore = SqliteEvents | PostgresEvents


def settle(servers: list[Server], store: EventStore, timeout: float = 15.0) -> None:
    """Wait until every writer queue is empty and the event count stops moving."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        depth = 0
        for server in servers:
            server.check_alive()
            with contextlib.suppress(OSError, ValueError):
                depth += server.health().get('writer_queue_depth', 0)
        if depth:
            time.sleep(0.1)
            continue
        now = store.count_all()
        if now == last:
            return
        last = now
        time.sleep(0.3)
    log('warning: the event count was still changing after 15 s')


@dataclass
class Verification:
    phase: str
    accepted_events: int  # 202 responses x events per request
    stored: int  # events of this phase found in the database
    unanswered_requests: int  # sent, no 2xx naming them (in flight at the stop, timed out, refused)
    unanswered_stored_events: int  # ... whose events were stored anyway
    exact: bool  # the unanswered ids were all checked
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(result: WrkResult, store: EventStore) -> Verification:
    """Stored events of the phase against the 202s, the unanswered requests looked up one by one."""
    raw = result.raw
    stored = store.count_phase(result.nonce)
    exact = len(raw['outstanding_ids']) == raw['outstanding']
    ids = [x for request in raw['outstanding_ids'] for x in request.split(',')]
    unanswered_stored = store.count_ids(ids) if exact else 0
    v = Verification(result.phase, result.accepted * result.batch, stored, raw['outstanding'], unanswered_stored, exact)
    if raw['requests'] != sum(result.statuses.values()):
        v.problems.append(f'wrk counted {raw["requests"]} responses, the script {sum(result.statuses.values())}')
    if raw['unmatched']:
        v.problems.append(f'{raw["unmatched"]} 2xx answers did not name an id of this run')
    other_2xx = result.ok_responses - result.accepted
    if other_2xx:
        v.problems.append(f'{other_2xx} 2xx answers were not 202')
    if exact:
        if stored != v.accepted_events + unanswered_stored:
            v.problems.append(
                f'stored {stored} events, but 202s promised {v.accepted_events} '
                f'(+ {unanswered_stored} stored without an answer)'
            )
    elif not v.accepted_events <= stored <= v.accepted_events + raw['outstanding'] * result.batch:
        v.problems.append(f'stored {stored} events, 202s promised {v.accepted_events}')
    if result.accepted == 0:
        v.problems.append('no request was accepted')
    return v
