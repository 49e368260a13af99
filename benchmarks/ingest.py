"""Ingest benchmark: the real PulseKit server against its ceilings, in one run.

Starts `pulsekit serve` on 127.0.0.1 with a fresh data directory and drives it with wrk
(a Lua script makes fresh UUIDs for every event), then measures:

  (a) single-event POSTs per second (~2.5 KB error events, 64 connections),
  (b) events per second through /api/v1/events/batch (100-event batches),
  (c) p50/p99 acknowledgement latency,
  (d) server RSS idle and under load,

and, in the same run, the ceilings: a bare FastAPI app (benchmarks/noop_app.py) under the
same uvicorn settings answering the same requests with 202, and plain sqlite3 `executemany`
of the same rows, 100 per transaction. After each load phase the number of events in the
database must equal what the 202s promised (a mismatch is an error: exit code 1).

    .venv/bin/python benchmarks/ingest.py                 # full run, ~1.5 minutes
    .venv/bin/python benchmarks/ingest.py --ceilings-only # no-op app + sqlite3 only
    .venv/bin/python benchmarks/ingest.py --json          # machine-readable result on stdout

Exit codes: 0 run completed (targets may still be missed: the table says so), 1 counts do not
match or a phase failed, 2 the benchmark could not run (server did not start, wrk missing, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    HEALTH_PATH,
    BenchError,
    ProcSampler,
    Server,
    cli_json,
    compact,
    descendants,
    find_database,
    free_port,
    log,
    machine_busy_s,
    make_events,
    own_cpu_s,
    pulsekit_cmd,
    render_wrk_script,
    ro_connect,
    summarize_log,
    tree_rss_kb,
)

HERE = Path(__file__).resolve().parent
NOOP_APP = HERE / 'noop_app.py'
SINGLE_PATH = '/api/v1/events'
BATCH_PATH = '/api/v1/events/batch'
PHASES = ('noop_single', 'noop_batch', 'real_single', 'real_batch')

# Targets from the issue (2-core machine).
TARGET_SINGLE_RATIO = 0.50  # single-event ingest vs the no-op ceiling
TARGET_BATCH_RATIO = 0.50  # batch ingest vs plain sqlite3 executemany
TARGET_P99_MS = 60.0  # single-event acknowledgement p99 at 64 connections
TARGET_IDLE_RSS_MB = 120.0

MAX_OUTSTANDING_IDS = 20_000  # ids of unanswered requests the Lua script writes out
NOISY_OTHER_CORES = 0.3  # CPU used by other processes during a phase above which the run is flagged


# ---------------------------------------------------------------------------------------------
# wrk


@dataclass
class WrkResult:
    phase: str
    batch: int  # events per request (1 for single events)
    connections: int
    raw: dict[str, Any]
    nonce: int
    rss_peak_kb: int = 0
    cpu_cores: float = 0.0  # server CPU time / wall time during the phase (1.0 = one core busy)
    load_cores: dict[str, float] = field(default_factory=dict)  # machine, wrk, server, other processes

    @property
    def seconds(self) -> float:
        return self.raw['duration_us'] / 1e6

    @property
    def statuses(self) -> dict[int, int]:
        return {int(k): v for k, v in self.raw['statuses'].items()}

    @property
    def ok_responses(self) -> int:
        return sum(v for k, v in self.statuses.items() if 200 <= k < 300)

    @property
    def accepted(self) -> int:
        """202 responses."""
        return self.statuses.get(202, 0)

    @property
    def non_2xx(self) -> dict[int, int]:
        return {k: v for k, v in sorted(self.statuses.items()) if not 200 <= k < 300}

    @property
    def socket_errors(self) -> dict[str, int]:
        return {k: v for k, v in self.raw['errors'].items() if k != 'status' and v}

    @property
    def requests_per_s(self) -> float:
        return self.ok_responses / self.seconds

    @property
    def events_per_s(self) -> float:
        return self.accepted * self.batch / self.seconds

    @property
    def per_cpu_s(self) -> float:
        """Events (requests, for the no-op single phase) per second of server CPU; 0 when not sampled."""
        return self.events_per_s / self.cpu_cores if self.cpu_cores else 0.0

    def latency_ms(self, key: str) -> float:
        return self.raw['latency_us'][key] / 1000


class Wrk:
    def __init__(self, workdir: Path, templates: list[str], threads: int, timeout: float, seed: int) -> None:
        self.workdir, self.templates, self.threads, self.timeout = workdir, templates, threads, timeout
        self.seed = seed
        self.used_nonces: set[int] = set()

    def _nonce(self) -> int:
        while True:
            nonce = random.randrange(0x1000)
            if nonce not in self.used_nonces:
                self.used_nonces.add(nonce)
                return nonce

    def run(
        self,
        phase: str,
        base: str,
        key: str,
        batch: int,
        connections: int,
        duration: float,
        pid: int | None = None,
        write_ids: bool = True,
    ) -> WrkResult:
        """One wrk run. `pid`: the server, to sample; `write_ids`: write out the unanswered ids to check."""
        nonce = self._nonce()
        out = self.workdir / f'wrk-{phase}.json'
        out.unlink(missing_ok=True)
        path = SINGLE_PATH if batch == 1 else BATCH_PATH
        max_ids = MAX_OUTSTANDING_IDS if write_ids else 0
        script = render_wrk_script(self.templates, nonce, batch, path, out, self.seed + nonce, max_ids, key)
        script_path = self.workdir / f'wrk-{phase}.lua'
        script_path.write_text(script)
        threads = min(self.threads, connections)
        cmd = [
            'wrk',
            f'-t{threads}',
            f'-c{connections}',
            f'-d{max(1, round(duration))}s',
            f'--timeout={max(1, round(self.timeout))}s',
            '-s',
            str(script_path),
            base + (SINGLE_PATH if batch == 1 else BATCH_PATH),
        ]
        log(f'{phase}: wrk {connections} connections, {duration:.0f} s, {batch} event(s) per request')
        sampler = ProcSampler(pid) if pid else None
        busy0, t0 = machine_busy_s(), time.monotonic()
        own0 = own_cpu_s()
        with sampler or contextlib.nullcontext():
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + self.timeout + 60)
            except subprocess.TimeoutExpired as exc:
                raise BenchError(f'wrk did not finish in time in {phase}') from exc
        wall = time.monotonic() - t0
        machine = (machine_busy_s() - busy0) / wall
        own = (own_cpu_s() - own0) / wall  # this script and wrk
        if proc.returncode != 0 or not out.exists():
            raise BenchError(f'wrk failed ({proc.returncode}) in {phase}:\n{proc.stdout}\n{proc.stderr}')
        (self.workdir / f'wrk-{phase}.txt').write_text(proc.stdout + proc.stderr)
        result = WrkResult(phase, batch, connections, json.loads(out.read_text()), nonce)
        result.load_cores = {'machine': machine, 'wrk': own}
        if sampler:
            result.rss_peak_kb = sampler.peak_kb
            result.cpu_cores = sampler.cpu_s / sampler.wall_s
            result.load_cores['server'] = result.cpu_cores
            result.load_cores['other'] = max(0.0, machine - own - result.cpu_cores)
        return result


# ---------------------------------------------------------------------------------------------
# The database (read-only, never while holding a write lock)


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


def count_phase(db_path: Path, fmt: IdFormat, nonce: int) -> int:
    with contextlib.closing(ro_connect(db_path)) as db:
        sql = f'SELECT count(*) FROM events WHERE {fmt.phase_expr} = ?'
        return db.execute(sql, (fmt.phase_value(nonce),)).fetchone()[0]


def count_stored_ids(db_path: Path, fmt: IdFormat, ids: list[str]) -> int:
    found = 0
    with contextlib.closing(ro_connect(db_path)) as db:
        for i in range(0, len(ids), 500):
            chunk = [fmt.encode(x) for x in ids[i : i + 500]]
            sql = f'SELECT count(*) FROM events WHERE id IN ({",".join("?" * len(chunk))})'
            found += db.execute(sql, chunk).fetchone()[0]
    return found


def count_all(db_path: Path) -> int:
    with contextlib.closing(ro_connect(db_path)) as db:
        return db.execute('SELECT count(*) FROM events').fetchone()[0]


def settle(server: Server, db_path: Path, timeout: float = 15.0) -> None:
    """Wait until the writer queue is empty and the event count stops moving."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        server.check_alive()
        with contextlib.suppress(OSError, ValueError):
            if server.health().get('writer_queue_depth', 0):
                time.sleep(0.1)
                continue
        now = count_all(db_path)
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


def verify(result: WrkResult, db_path: Path, fmt: IdFormat) -> Verification:
    raw = result.raw
    stored = count_phase(db_path, fmt, result.nonce)
    exact = len(raw['outstanding_ids']) == raw['outstanding']
    ids = [x for request in raw['outstanding_ids'] for x in request.split(',')]
    unanswered_stored = count_stored_ids(db_path, fmt, ids) if exact else 0
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


# ---------------------------------------------------------------------------------------------
# Raw storage ceiling: plain sqlite3 executemany, 100 rows per transaction

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
    placeholders = ', '.join('?' * len(sample.columns))
    quoted = ', '.join(f'"{c}"' for c in sample.columns)
    insert = f'INSERT INTO events ({quoted}) VALUES ({placeholders})'

    def new_id() -> Any:
        u = uuid.uuid4()
        return {'blob': u.bytes, 'dashed': str(u), 'hex': u.hex}[sample.id_kind]

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
                row[sample.id_column] = new_id()
            batch.append(row)
        db.execute('BEGIN')
        db.executemany(insert, batch)
        db.execute('COMMIT')
        inserted += per_tx
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


# ---------------------------------------------------------------------------------------------
# Report


@dataclass
class Row:
    figure: str
    value: str
    ceiling: str = ''
    ratio: str = ''
    target: str = ''
    result: str = ''  # 'ok', 'MISSED' or ''


def fmt_rate(x: float, unit: str) -> str:
    return f'{x:,.0f} {unit}'


def mb(kb: int) -> float:
    return kb / 1024


def build_rows(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    noop_s: WrkResult | None = r.get('noop_single')
    noop_b: WrkResult | None = r.get('noop_batch')
    real_s: WrkResult | None = r.get('real_single')
    real_b: WrkResult | None = r.get('real_batch')
    ceiling = r.get('sqlite')

    def judge(ok: bool) -> str:
        return 'ok' if ok else 'MISSED'

    if real_s and noop_s:
        ratio = real_s.events_per_s / noop_s.requests_per_s
        rows.append(
            Row(
                f'(a) single-event ingest, {real_s.connections} conn',
                fmt_rate(real_s.events_per_s, 'ev/s'),
                fmt_rate(noop_s.requests_per_s, 'req/s no-op'),
                f'{ratio:.0%}',
                f'>= {TARGET_SINGLE_RATIO:.0%}',
                judge(ratio >= TARGET_SINGLE_RATIO),
            )
        )
        if real_s.per_cpu_s and noop_s.per_cpu_s:
            rows.append(
                Row(
                    '    the same per server CPU-second',
                    fmt_rate(real_s.per_cpu_s, 'ev/cpu-s'),
                    fmt_rate(noop_s.per_cpu_s, 'req/cpu-s no-op'),
                    f'{real_s.per_cpu_s / noop_s.per_cpu_s:.0%}',
                    'info',
                )
            )
    elif noop_s:
        rows.append(Row(f'(a) no-op ceiling, {noop_s.connections} conn', fmt_rate(noop_s.requests_per_s, 'req/s')))
    if real_b and ceiling:
        ratio = real_b.events_per_s / ceiling['rows_per_s']
        rows.append(
            Row(
                f'(b) batch ingest, {real_b.batch}/req, {real_b.connections} conn',
                fmt_rate(real_b.events_per_s, 'ev/s'),
                fmt_rate(ceiling['rows_per_s'], 'rows/s sqlite3'),
                f'{ratio:.0%}',
                f'>= {TARGET_BATCH_RATIO:.0%}',
                judge(ratio >= TARGET_BATCH_RATIO),
            )
        )
        if real_b.per_cpu_s and ceiling['rows_per_cpu_s']:
            rows.append(
                Row(
                    '    the same per CPU-second',
                    fmt_rate(real_b.per_cpu_s, 'ev/cpu-s'),
                    fmt_rate(ceiling['rows_per_cpu_s'], 'rows/cpu-s sqlite3'),
                    f'{real_b.per_cpu_s / ceiling["rows_per_cpu_s"]:.0%}',
                    'info',
                )
            )
    elif ceiling:
        rows.append(Row('(b) sqlite3 executemany ceiling', fmt_rate(ceiling['rows_per_s'], 'rows/s')))
    if real_b and noop_b:
        rows.append(
            Row(
                '    batch vs no-op with same bodies',
                fmt_rate(real_b.events_per_s, 'ev/s'),
                fmt_rate(noop_b.events_per_s, 'ev/s no-op'),
                f'{real_b.events_per_s / noop_b.events_per_s:.0%}',
                'info',
            )
        )
    elif noop_b:
        rows.append(Row(f'    no-op batch, {noop_b.batch}/req', fmt_rate(noop_b.events_per_s, 'ev/s')))
    for key in ('p50', 'p99'):
        if real_s:
            ok = real_s.latency_ms('p99') < TARGET_P99_MS if key == 'p99' else None
            rows.append(
                Row(
                    f'(c) ack latency {key}, single, {real_s.connections} conn',
                    f'{real_s.latency_ms(key):.1f} ms',
                    f'{noop_s.latency_ms(key):.1f} ms no-op' if noop_s else '',
                    '',
                    f'< {TARGET_P99_MS:.0f} ms' if key == 'p99' else '',
                    judge(ok) if ok is not None else '',
                )
            )
        elif noop_s:
            rows.append(Row(f'    no-op latency {key}', f'{noop_s.latency_ms(key):.1f} ms'))
    if real_b:
        rows.append(
            Row(
                '    ack latency p50 / p99, batch',
                f'{real_b.latency_ms("p50"):.0f} / {real_b.latency_ms("p99"):.0f} ms',
                f'{noop_b.latency_ms("p50"):.0f} / {noop_b.latency_ms("p99"):.0f} ms no-op' if noop_b else '',
                '',
                'info',
            )
        )
    if 'real_rss_idle_kb' in r:
        idle = mb(r['real_rss_idle_kb'])
        rows.append(
            Row(
                '(d) server RSS idle',
                f'{idle:.0f} MB',
                f'{mb(r["noop_rss_idle_kb"]):.0f} MB no-op' if 'noop_rss_idle_kb' in r else '',
                '',
                f'< {TARGET_IDLE_RSS_MB:.0f} MB',
                judge(idle < TARGET_IDLE_RSS_MB),
            )
        )
    elif 'noop_rss_idle_kb' in r:
        rows.append(Row('    no-op RSS idle', f'{mb(r["noop_rss_idle_kb"]):.0f} MB'))
    for res, noop, label in ((real_s, noop_s, 'single'), (real_b, noop_b, 'batch')):
        if res:
            rows.append(
                Row(
                    f'(d) server RSS peak, {label} load',
                    f'{mb(res.rss_peak_kb):.0f} MB',
                    f'{mb(noop.rss_peak_kb):.0f} MB no-op' if noop else '',
                    '',
                    'info',
                )
            )
    return rows


def print_table(rows: list[Row]) -> None:
    header = Row('figure', 'value', 'ceiling', 'ratio', 'target', 'result')
    table = [header, *rows]
    widths = [max(len(getattr(x, f)) for x in table) for f in ('figure', 'value', 'ceiling', 'ratio', 'target')]

    def line(x: Row) -> str:
        cells = [x.figure.ljust(widths[0]), x.value.rjust(widths[1]), x.ceiling.rjust(widths[2])]
        cells += [x.ratio.rjust(widths[3]), x.target.ljust(widths[4]), x.result]
        return '  '.join(cells).rstrip()

    print(line(header))
    print('-' * len(line(header)))
    for x in rows:
        print(line(x))


def print_counts(results: list[WrkResult], checks: list[Verification]) -> None:
    print()
    print('requests and stored events per phase')
    for res in results:
        errors = ', '.join(f'{k} {v}' for k, v in res.socket_errors.items()) or 'none'
        non2xx = ', '.join(f'{k}: {v}' for k, v in res.non_2xx.items()) or 'none'
        print(
            f'  {res.phase:<12} {res.raw["sent"]:>7,} sent, {res.ok_responses:>7,} 2xx in {res.seconds:.1f} s;'
            f' non-2xx: {non2xx}; socket errors: {errors}'
        )
        load = res.load_cores
        if 'server' in load:
            print(
                f'  {"":<12} CPU in cores: server {load["server"]:.2f}, wrk {load["wrk"]:.2f},'
                f' other processes {load["other"]:.2f} (machine {load["machine"]:.2f} of {os.cpu_count()});'
                f' {res.per_cpu_s:,.0f} events per server CPU-second'
            )
    for v in checks:
        status = 'ok' if v.ok else 'MISMATCH'
        print(
            f'  {v.phase:<12} 202s x events/request = {v.accepted_events:,}; stored = {v.stored:,};'
            f' unanswered requests {v.unanswered_requests} ({v.unanswered_stored_events} of their events stored)'
            f' -> {status}'
        )
        for p in v.problems:
            print(f'               {p}')


def to_json(r: dict[str, Any], rows: list[Row], checks: list[Verification], args: argparse.Namespace) -> str:
    def phase(res: WrkResult | None) -> dict[str, Any] | None:
        if res is None:
            return None
        raw = {k: v for k, v in res.raw.items() if k != 'outstanding_ids'}
        return {
            'connections': res.connections,
            'events_per_request': res.batch,
            'seconds': res.seconds,
            'requests_per_s': res.requests_per_s,
            'events_per_s': res.events_per_s,
            'latency_ms': {k: v / 1000 for k, v in res.raw['latency_us'].items()},
            'rss_peak_mb': mb(res.rss_peak_kb),
            'cpu_cores': res.load_cores,
            'events_per_server_cpu_s': res.per_cpu_s or None,
            'wrk': raw,
        }

    doc = {
        'settings': {k: v for k, v in vars(args).items() if k != 'json'},
        'phases': {k: phase(r.get(k)) for k in PHASES},
        'sqlite_ceiling': r.get('sqlite'),
        'rss_idle_mb': {
            'server': mb(r['real_rss_idle_kb']) if 'real_rss_idle_kb' in r else None,
            'noop': mb(r['noop_rss_idle_kb']) if 'noop_rss_idle_kb' in r else None,
        },
        'event_size_bytes': r.get('event_size'),
        'server_log_exceptions': r.get('server_log_exceptions'),
        'load_average_at_start': r.get('load_average'),
        'verification': [vars(v) | {'ok': v.ok} for v in checks],
        'table': [vars(x) for x in rows],
        'missed_targets': [x.figure.strip() for x in rows if x.result == 'MISSED'],
        'max_other_processes_cores': max(
            (res.load_cores.get('other', 0.0) for res in (r.get(k) for k in PHASES) if res), default=0.0
        ),
    }
    return json.dumps(doc, indent=2)


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='PulseKit ingest benchmark (see benchmarks/README.md).')
    p.add_argument('--duration', type=float, default=10, help='seconds per measured wrk phase (default 10)')
    p.add_argument('--warmup', type=float, default=2, help='seconds of warm-up before each phase (default 2)')
    p.add_argument('--connections', type=int, default=64, help='connections for single events (default 64)')
    p.add_argument('--batch-connections', type=int, default=16, help='connections for /batch (default 16)')
    p.add_argument('--batch-size', type=int, default=100, help='events per /batch request (default 100)')
    p.add_argument('--threads', type=int, default=2, help='wrk threads (default 2)')
    p.add_argument('--timeout', type=float, default=10, help='wrk request timeout in seconds (default 10)')
    p.add_argument('--sqlite-seconds', type=float, default=5, help='seconds of sqlite3 executemany (default 5)')
    p.add_argument('--pulsekit', help='command that runs the PulseKit CLI (default: pulsekit next to this python)')
    p.add_argument(
        '--keep-rate-limit', action='store_true', help="keep the server's per-key rate limit (default: turned off)"
    )
    p.add_argument('--ceilings-only', action='store_true', help='only the no-op app and the sqlite3 ceiling')
    p.add_argument('--workdir', help='where to create the run directory (default: the system temp dir)')
    p.add_argument('--keep', action='store_true', help='keep the run directory (databases, logs, wrk scripts)')
    p.add_argument('--json', action='store_true', help='print the results as JSON on stdout instead of the table')
    p.add_argument('--seed', type=int, default=20261126, help='seed for the event contents')
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.batch_size > 1000:
        p.error('--batch-size must be 1..1000 (the protocol limit)')
    if min(args.connections, args.batch_connections, args.threads) < 1 or args.duration < 1:
        p.error('--connections, --batch-connections, --threads and --duration must be at least 1')
    return args


def run(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, Any], list[Verification]]:
    r: dict[str, Any] = {'load_average': os.getloadavg()}
    checks: list[Verification] = []
    events = make_events(48, args.seed, dt.datetime.now(dt.UTC))
    templates = [compact(e) for e in events]
    sizes = [len(t) + len('"id":"00000000-0000-0000-0000-000000000000",') for t in templates]
    r['event_size'] = {'min': min(sizes), 'mean': round(sum(sizes) / len(sizes)), 'max': max(sizes)}
    log(f'{len(templates)} event templates, {r["event_size"]["mean"]:,} bytes on average')
    wrk = Wrk(workdir, templates, args.threads, args.timeout, args.seed)
    env = dict(os.environ)

    def phases(server: Server, key: str, prefix: str, db_path: Path | None = None) -> None:
        fmt: IdFormat | None = None
        for kind, batch, conns in (('single', 1, args.connections), ('batch', args.batch_size, args.batch_connections)):
            if args.warmup > 0:
                wrk.run(f'{prefix}-{kind}-warmup', server.base, key, batch, conns, args.warmup, write_ids=False)
            if db_path is not None:
                settle(server, db_path)
            result = wrk.run(
                f'{prefix}-{kind}', server.base, key, batch, conns, args.duration, server.pid, db_path is not None
            )
            server.check_alive()
            r[f'{prefix}_{kind}'] = result
            if db_path is not None:
                settle(server, db_path)
                if fmt is None:
                    if not result.accepted:
                        raise BenchError(f'{result.phase}: no 202 at all; answers by status: {result.statuses}')
                    with contextlib.closing(ro_connect(db_path)) as db:
                        fmt = IdFormat(db)
                check = verify(result, db_path, fmt)
                checks.append(check)
                log(
                    f'{prefix}-{kind}: {result.events_per_s:,.0f} events/s; stored {check.stored:,}, '
                    f'202s promised {check.accepted_events:,} -> {"ok" if check.ok else "MISMATCH"}'
                )
            else:
                log(f'{prefix}-{kind}: {result.requests_per_s:,.0f} req/s, p99 {result.latency_ms("p99"):.1f} ms')

    # 1. The no-op ceiling.
    port = free_port()
    noop_cmd = [sys.executable, str(NOOP_APP), '--host', '127.0.0.1', '--port', str(port)]
    with Server('noop', noop_cmd, port, workdir, env) as noop:
        noop.wait_healthy()
        time.sleep(1)
        r['noop_rss_idle_kb'] = tree_rss_kb(descendants(noop.pid))
        phases(noop, 'pk_noop', 'noop')

    # 2. The real server, fresh data directory.
    sample: StorageSample | None = None
    if not args.ceilings_only:
        data_dir = workdir / 'data'
        data_dir.mkdir()
        cli = pulsekit_cmd(args.pulsekit)
        srv_env = env | {'NICEGUI_STORAGE_PATH': str(workdir / 'nicegui')}
        if not args.keep_rate_limit:  # the per-key limit (10,000 events/s) would cap the batch phase
            srv_env['PULSEKIT_RATE_LIMIT_EVENTS_PER_S'] = '0'
        port = free_port()
        serve = [*cli, 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', str(data_dir)]
        with Server('pulsekit', serve, port, workdir, srv_env) as server:
            startup = server.wait_healthy()
            log(f'pulsekit answered {HEALTH_PATH} after {startup:.1f} s')
            data_opt = ['--data-dir', str(data_dir), '--json']
            project = cli_json([*cli, 'project', 'create', 'bench', *data_opt], srv_env, workdir)
            key_cmd = [*cli, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read', *data_opt]
            key = cli_json(key_cmd, srv_env, workdir)['key']
            time.sleep(2)
            server.check_alive()
            r['real_rss_idle_kb'] = tree_rss_kb(descendants(server.pid))
            db_path = find_database(data_dir)
            log(f'database: {db_path}; idle RSS {mb(r["real_rss_idle_kb"]):.0f} MB')
            phases(server, key, 'real', db_path)
            sample = sample_from_server_db(db_path)
        r['server_log_exceptions'] = summarize_log(server.log_path)

    # 3. The raw storage ceiling.
    if sample is None:
        sample = sample_from_templates(events)
    r['sqlite'] = sqlite_ceiling(sample, workdir, args.sqlite_seconds)
    log(f'sqlite3 ceiling: {r["sqlite"]["rows_per_s"]:,.0f} rows/s')
    return r, checks


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which('wrk'):
        log('wrk is not installed (Debian: apt-get install wrk)')
        return 2
    workdir = Path(tempfile.mkdtemp(prefix='pulsekit-bench-', dir=args.workdir))
    started = time.monotonic()
    try:
        r, checks = run(args, workdir)
    except BenchError as exc:
        log(f'error: {exc}')
        log(f'run directory kept: {workdir}')
        return 2
    except KeyboardInterrupt:
        log('interrupted')
        return 2
    if args.keep:
        log(f'run directory kept: {workdir}')
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = build_rows(r)
    results = [r[k] for k in PHASES if k in r]
    if args.json:
        print(to_json(r, rows, checks, args))
    else:
        size = r['event_size']
        print(
            f'PulseKit ingest benchmark: {args.duration:.0f} s per phase, events {size["min"]:,}-{size["max"]:,} bytes'
            f' (mean {size["mean"]:,}), wrk {args.threads} threads, {os.cpu_count()} CPUs,'
            f' load average {r["load_average"][0]:.2f} at start, {time.monotonic() - started:.0f} s in all'
        )
        print()
        print_table(rows)
        print_counts(results, checks)
        sq = r['sqlite']
        print(f'  sqlite3 ceiling: {sq["rows"]:,} rows in {sq["seconds"]:.1f} s; {sq["source"]}')
        print(f'  {"":<12} CPU in cores: other processes {sq["other_processes_cores"]:.2f}')
        logged = r.get('server_log_exceptions') or {}
        if logged:
            print()
            print(f'the server logged {sum(logged.values())} exception(s):')
            for line, count in list(logged.items())[:5]:
                print(f'  {count:>6} x {line}')
        missed = [x.figure.strip() for x in rows if x.result == 'MISSED']
        print()
        if args.ceilings_only:
            print('ceilings only: the PulseKit server was not run, no target was checked')
        else:
            print('targets missed: ' + '; '.join(missed) if missed else 'all targets met')
        other = max([res.load_cores.get('other', 0.0) for res in results] + [sq['other_processes_cores']])
        if other > NOISY_OTHER_CORES:
            print(
                f'warning: other processes used up to {other:.2f} cores during a phase;'
                ' the figures are unreliable, run again on a quieter machine'
            )
    bad = [c for c in checks if not c.ok]
    if bad:
        log('error: stored events do not match the 202s for: ' + ', '.join(c.phase for c in bad))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
