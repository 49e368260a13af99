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

This file is the entry point (options and the order of the phases); the parts live beside it:
wrk_load.py (the load generator), ingest_servers.py (the server processes), stored_events.py
(what was stored, against what the 202s promised), sqlite_ceiling.py (the storage ceiling) and
ingest_report.py (the table and the JSON).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_database import fresh_database, postgres_info
from harness import BenchError, Server, compact, find_database, log, make_events, summarize_log
from ingest_report import build_rows, mb, print_report, to_json
from ingest_servers import noop_server, pulsekit_replicas, pulsekit_server, server_env
from sqlite_ceiling import StorageSample, sample_from_server_db, sample_from_templates, sqlite_ceiling
from stored_events import EventStore, PostgresEvents, SqliteEvents, Verification, settle, verify
from wrk_load import Wrk


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
    p.add_argument(
        '--database',
        metavar='URL',
        help='also run on PostgreSQL: postgresql://user@host:port/db (a maintenance or any database URL;'
        ' each configuration gets a fresh database, dropped afterwards)',
    )
    p.add_argument(
        '--replicas',
        type=int,
        default=1,
        help='with --database: also run N `pulsekit serve` replicas on one database, the connections'
        ' spread evenly over them (default 1: one replica only)',
    )
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.batch_size > 1000:
        p.error('--batch-size must be 1..1000 (the protocol limit)')
    if min(args.connections, args.batch_connections, args.threads) < 1 or args.duration < 1:
        p.error('--connections, --batch-connections, --threads and --duration must be at least 1')
    if args.replicas < 1:
        p.error('--replicas must be at least 1')
    if args.replicas > 1 and not args.database:
        p.error('--replicas needs --database (replicas share one PostgreSQL database)')
    if args.database and not args.database.startswith(('postgresql://', 'postgres://')):
        p.error('--database must be a postgresql:// URL')
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
    env.pop('DATABASE_URL', None)  # the SQLite phases use SQLite whatever the shell has set
    checks_made: dict[str, bool] = collections.defaultdict(bool)

    def phases(
        servers: list[Server], key: str, prefix: str, store: EventStore | None = None, db_pid: int | None = None
    ) -> None:
        """The single-event and the batch phase against `servers` (replicas share the load evenly);
        with a `store`, each phase's stored events are checked against its 202s."""
        bases, pids = [s.base for s in servers], [s.pid for s in servers]
        for kind, batch, conns in (('single', 1, args.connections), ('batch', args.batch_size, args.batch_connections)):
            if args.warmup > 0:
                wrk.run(f'{prefix}-{kind}-warmup', bases, key, batch, conns, args.warmup, write_ids=False)
            if store is not None:
                settle(servers, store)
            result = wrk.run(
                f'{prefix}-{kind}', bases, key, batch, conns, args.duration, pids, store is not None, db_pid
            )
            for server in servers:
                server.check_alive()
            r[f'{prefix}_{kind}'] = result
            if store is not None:
                settle(servers, store)
                if not checks_made[prefix] and not result.accepted:
                    raise BenchError(f'{result.phase}: no 202 at all; answers by status: {result.statuses}')
                checks_made[prefix] = True
                check = verify(result, store)
                checks.append(check)
                log(
                    f'{prefix}-{kind}: {result.events_per_s:,.0f} events/s; stored {check.stored:,}, '
                    f'202s promised {check.accepted_events:,} -> {"ok" if check.ok else "MISMATCH"}'
                )
            else:
                log(f'{prefix}-{kind}: {result.requests_per_s:,.0f} req/s, p99 {result.latency_ms("p99"):.1f} ms')

    # 1. The no-op ceiling.
    with noop_server(workdir, env) as (noop, rss_idle_kb):
        r['noop_rss_idle_kb'] = rss_idle_kb
        phases([noop], 'pk_noop', 'noop')

    # 2. The real server, fresh data directory.
    sample: StorageSample | None = None
    srv_env = server_env(workdir, env, args.keep_rate_limit)
    if not args.ceilings_only:
        with pulsekit_server(args.pulsekit, workdir, srv_env) as pk:
            r['real_rss_idle_kb'] = pk.rss_idle_kb
            db_path = find_database(pk.data_dir)
            log(f'database: {db_path}; idle RSS {mb(r["real_rss_idle_kb"]):.0f} MB')
            phases([pk.server], pk.key, 'real', SqliteEvents(db_path))
            sample = sample_from_server_db(db_path)
        r['server_log_exceptions'] = summarize_log(pk.server.log_path)

    # 2b. PostgreSQL: one replica, then `--replicas`, each on a fresh database.
    if args.database and not args.ceilings_only:
        r['postgres'] = postgres_info(args.database)
        for count in sorted({1, args.replicas}):
            label = f'pg{count}'
            with (
                fresh_database(args.database, label) as url,
                pulsekit_replicas(args.pulsekit, workdir, srv_env, url, count, label) as rep,
            ):
                r[f'{label}_rss_idle_kb'] = rep.rss_idle_kb
                phases(rep.servers, rep.key, label, PostgresEvents(url), r['postgres']['postmaster_pid'])
            for server in rep.servers:
                for line, n in summarize_log(server.log_path).items():
                    r['server_log_exceptions'][f'{server.name}: {line}'] = n

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
    if args.json:
        print(to_json(r, rows, checks, args))
    else:
        print_report(r, rows, checks, args, time.monotonic() - started)
    bad = [c for c in checks if not c.ok]
    if bad:
        log('error: stored events do not match the 202s for: ' + ', '.join(c.phase for c in bad))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
