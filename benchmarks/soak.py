"""Soak: the real server at a steady rate for a fixed time, minute by minute.

Sends a steady mix (by default 1,000 events/s: 40 % single events, 40 % in batches of 50, 20 % as
real sentry-sdk error envelopes of ~18 KB), each kind arriving at random as from many independent
clients (a Poisson process), while a reader polls the read API the way open dashboard pages do.
Prints, for every minute: events/s accepted, p50/p99 acknowledgement latency, refused requests,
server RSS (and its parts: the database's memory map, the heap), database and WAL size, the
writer's queue depth (from /api/v1/health), the machine's noise (CPU stolen by the hypervisor, how
late the sender itself sent) and the reader's latency; then p50/p99 by kind of request.
Then checks the targets of issue #20 against minute 2 (after warm-up).

    .venv/bin/python benchmarks/soak.py                    # 10 minutes at 1,000 events/s
    .venv/bin/python benchmarks/soak.py --minutes 3        # shorter
    .venv/bin/python benchmarks/soak.py --turnover 0.5     # data ages out 30 s after it arrives

--turnover N: the project keeps events 1 day and every event is stamped 1 day minus N minutes
ago, and the retention job runs every 30 s, so the data set turns over after N minutes and disk
use should level off instead of growing (deletes free pages that new events reuse). With N=0.5
both runs of minute 2 delete 30 s of events, as every later minute's do: minute 2, the reference,
is already the steady state. (With N=1 minute 2 had one such run and the later minutes two, so
the check compared a half-loaded minute with fully loaded ones.)

RSS: SQLite maps the first 256 MB of the database file (mmap_size), and RSS counts the mapped
pages it has read. That map is the kernel's page cache, shared and reclaimable, and it fills as
retention's reused pages are read; the memory check is on RSS less that map, and the whole is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gzip
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    HEALTH_PATH,
    BenchError,
    DashboardReader,
    Server,
    host_cpu_ticks,
    log,
    make_events,
    mapped_file_kb,
    own_cpu_s,
    percentile,
    rss_kb,
    serve_project,
    steal_share,
)

FIXTURE = Path(__file__).parent / 'fixtures' / 'sentry-python-error.envelope'
BATCH_SIZE = 50
MAX_IN_FLIGHT = 64  # requests waiting for an answer at once; beyond that the sender falls behind
JSON = {'Content-Type': 'application/json'}
SENTRY = {'Content-Type': 'application/x-sentry-envelope', 'Content-Encoding': 'gzip'}
TARGET_WAL_MB = 256
TARGET_FLAT = 0.20  # RSS and p99 within ±20 % of minute 2


@dataclass
class Minute:
    accepted_events: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    kind_ms: dict[str, list[float]] = field(default_factory=dict)  # ack latencies, by kind of request
    reads_ms: dict[str, list[float]] = field(default_factory=dict)  # the reader's queries, by name
    queue_depths: list[int] = field(default_factory=list)
    rss_kb: int = 0
    anon_kb: int = 0  # RssAnon: heap and stacks
    db_map_kb: int = 0  # resident pages of the database's memory map (SQLite's mmap_size: page cache)
    own_kb: int = 0  # RSS less the database's map: what the process itself holds
    db_bytes: int = 0
    wal_bytes: int = 0
    late_ms: float = 0.0  # the sender's worst delay past a request's due time: its own stall, not the server's
    cpu_ticks: tuple[int, int] = (0, 0)  # /proc/stat at the minute's first sample: (all, steal)
    load_cpu_s: float = 0.0  # this process's CPU time at the minute's first sample (see load_cpu_us)

    @property
    def latencies_ms(self) -> list[float]:
        """Every request's ack latency, whatever its kind (read once per figure, at the end)."""
        return [ms for kind_ms in self.kind_ms.values() for ms in kind_ms]


class Envelopes:
    """The fixture's Sentry error envelope with a fresh event id and timestamp for each request.

    Built from byte templates: serialising 18 KB of JSON per request would make the load generator,
    not the server, the bottleneck on 2 cores.
    """

    def __init__(self) -> None:
        header, _item, payload = FIXTURE.read_bytes().split(b'\n')[:3]
        event = {**json.loads(payload), 'event_id': '@@ID@@', 'timestamp': '@@TS@@'}
        self.payload = json.dumps(event).encode().replace(b'"@@TS@@"', b'@@TS@@')
        self.header = json.dumps({**json.loads(header), 'event_id': '@@ID@@'}).encode()

    def body(self, when: dt.datetime) -> bytes:
        event_id = uuid.uuid4().hex.encode()
        payload = self.payload.replace(b'@@ID@@', event_id).replace(b'@@TS@@', b'%.3f' % when.timestamp())
        item = b'{"type":"event","content_type":"application/json","length":%d}' % len(payload)
        return gzip.compress(b'\n'.join((self.header.replace(b'@@ID@@', event_id), item, payload)), 1)


class Load:
    """The paced sender: every tick, the requests that are due, each timed until its answer."""

    def __init__(self, base: str, key: str, project_id: int, rate: float, age: dt.timedelta) -> None:
        self.base, self.key, self.project_id, self.rate, self.age = base, key, project_id, rate, age
        # Each event template as JSON bytes with placeholders: '{"id":"@@ID@@","timestamp":"@@TS@@",…}'.
        self.templates = [
            json.dumps({**event, 'id': '@@ID@@', 'timestamp': '@@TS@@'}).encode()
            for event in make_events(48, 7, dt.datetime.now(dt.UTC))
        ]
        self.envelopes = Envelopes()
        self.minutes: list[Minute] = [Minute()]
        self.behind = 0  # requests skipped because MAX_IN_FLIGHT were already waiting
        self.end_cpu_ticks = (0, 0)  # /proc/stat when the sampling stopped (see steal_share)
        self.end_load_cpu_s = 0.0

    def record_read(self, name: str, ms: float) -> None:
        self.minutes[-1].reads_ms.setdefault(name, []).append(ms)

    def when(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - self.age

    def native(self, count: int) -> bytes:
        stamp = self.when().isoformat(timespec='milliseconds').encode()
        events = [
            random.choice(self.templates).replace(b'@@ID@@', str(uuid.uuid4()).encode()).replace(b'@@TS@@', stamp)
            for _ in range(count)
        ]
        return events[0] if count == 1 else b'{"events":[' + b','.join(events) + b']}'

    async def send(self, pool: ConnectionPool, kind: str) -> None:
        if kind == 'single':
            path, body, headers, events = '/api/v1/events', self.native(1), JSON, 1
        elif kind == 'batch':
            path, body, headers, events = '/api/v1/events/batch', self.native(BATCH_SIZE), JSON, BATCH_SIZE
        else:
            path, body, headers, events = (
                f'/api/{self.project_id}/envelope/',
                self.envelopes.body(self.when()),
                SENTRY,
                1,
            )
        start = time.perf_counter()
        status = await pool.post(path, body, headers)
        minute = self.minutes[-1]
        minute.kind_ms.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
        if 200 <= status < 300:
            minute.accepted_events += events
        else:
            minute.refused[status] = minute.refused.get(status, 0) + 1

    async def run(self, seconds: float) -> None:
        """Each kind arrives as a Poisson process at its rate, as from many independent clients. (The
        sender used to wake every 20 ms and send what was due at once: bursts of ~12 requests, whose
        last one waited behind the others, so p99 measured the burst and grew with every late wake-up
        of the sender itself.)"""
        # Events per second split 40/40/20 into single events, batches and envelopes.
        per_s = {'single': 0.4 * self.rate, 'batch': 0.4 * self.rate / BATCH_SIZE, 'envelope': 0.2 * self.rate}
        pool = ConnectionPool(self.base, {'X-PulseKit-Key': self.key, 'X-Sentry-Auth': f'Sentry sentry_key={self.key}'})
        in_flight: set[asyncio.Task] = set()
        start = time.monotonic()
        due = {kind: start + random.expovariate(rate) for kind, rate in per_s.items()}
        while (at := min(due.values())) - start < seconds:
            kind = min(due, key=due.__getitem__)
            due[kind] = at + random.expovariate(per_s[kind])
            if (wait := at - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            if int((at - start) // 60) >= len(self.minutes):
                self.minutes.append(Minute())
            minute = self.minutes[-1]
            minute.late_ms = max(minute.late_ms, (time.monotonic() - at) * 1000)
            if len(in_flight) >= MAX_IN_FLIGHT:
                self.behind += 1
                continue
            task = asyncio.create_task(self.send(pool, kind))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=30)
        pool.close()


class ConnectionPool:
    """Kept-alive HTTP/1.1 connections on raw asyncio streams, one request at a time on each.

    httpx cost ~1 ms of CPU per request, which on 2 cores shared with the server made the load
    generator, not the server, the bottleneck; this costs a small fraction of that.
    """

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.common = ''.join(f'{name}: {value}\r\n' for name, value in {'Host': parts.netloc, **headers}.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """The status of the answer; 0 when the connection failed."""
        head = f'POST {path} HTTP/1.1\r\n{self.common}Content-Length: {len(body)}\r\n'
        request = (head + ''.join(f'{name}: {value}\r\n' for name, value in headers.items()) + '\r\n').encode() + body
        for attempt in (1, 2):
            is_reused = bool(self.idle) and attempt == 1  # the retry always opens a new connection
            connection = self.idle.pop() if is_reused else await asyncio.open_connection(self.host, self.port)
            status = await self._exchange(connection, request)
            # A kept-alive connection the server closed while it was idle fails at once: retry on a new one.
            if status or not is_reused or attempt == 2:
                return status
        return 0

    async def _exchange(self, connection: tuple, request: bytes) -> int:
        reader, writer = connection
        try:
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            length, is_closing = 0, False
            while (line := await reader.readline()) not in (b'\r\n', b''):
                name, _, value = line.partition(b':')
                if name.lower() == b'content-length':
                    length = int(value)
                elif name.lower() == b'connection' and value.strip().lower() == b'close':
                    is_closing = True
            await reader.readexactly(length)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            writer.close()
            return 0
        if is_closing:
            writer.close()
        else:
            self.idle.append(connection)
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def sample_server(load: Load, server: Server, db_path: Path, stop: threading.Event) -> None:
    """Once a second: the writer's queue depth, RSS and file sizes, into the current minute."""
    wal = db_path.with_name(db_path.name + '-wal')
    while not stop.wait(1.0):
        minute = load.minutes[-1]
        if minute.cpu_ticks == (0, 0):
            minute.cpu_ticks, minute.load_cpu_s = host_cpu_ticks(), own_cpu_s()
        try:
            with urllib.request.urlopen(server.base + HEALTH_PATH, timeout=5) as answer:
                minute.queue_depths.append(json.loads(answer.read()).get('writer_queue_depth', 0))
        except Exception:
            pass
        rss, db_map = rss_kb(server.pid) or 0, mapped_file_kb(server.pid, db_path)
        minute.rss_kb = max(minute.rss_kb, rss)
        minute.db_map_kb = max(minute.db_map_kb, db_map)
        minute.own_kb = max(minute.own_kb, rss - db_map)
        minute.anon_kb = max(minute.anon_kb, rss_kb(server.pid, 'RssAnon') or 0)
        minute.db_bytes = db_path.stat().st_size if db_path.exists() else 0
        minute.wal_bytes = max(minute.wal_bytes, wal.stat().st_size if wal.exists() else 0)
    load.end_cpu_ticks, load.end_load_cpu_s = host_cpu_ticks(), own_cpu_s()


def load_cpu_us(load: Load, minutes: list[Minute]) -> list[float]:
    """This process's CPU time per request sent, minute by minute, in µs (the reader's share included)."""
    ends = [m.load_cpu_s for m in minutes[1:]] + [load.end_load_cpu_s]
    return [(end - m.load_cpu_s) * 1e6 / max(1, len(m.latencies_ms)) for m, end in zip(minutes, ends, strict=True)]


def rank_correlation(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's: 1 when ys rise exactly as xs do, 0 for no relation (ties get their average rank); None
    under 3 pairs."""

    def ranks(values: list[float]) -> list[float]:
        ordered = sorted(values)
        return [ordered.index(v) + (ordered.count(v) - 1) / 2 for v in values]

    if len(xs) < 3:
        return None
    return statistics.correlation(ranks(xs), ranks(ys))


def print_minutes(load: Load) -> list[Minute]:
    """The minute-by-minute table and the ack latency by kind; returns the minutes that saw requests."""
    minutes = [m for m in load.minutes if m.latencies_ms]
    # steal: CPU the hypervisor gave other guests; late: the sender's worst wake-up delay. Both are the
    # machine's noise, not the server's: a minute whose p99 jumps with them says little about the server.
    print(f'\n{"min":>3} {"events/s":>9} {"p50 ms":>7} {"p99 ms":>7} {"refused":>8} {"RSS MB":>7} '
          f'{"db map MB":>9} {"heap MB":>8} {"db MB":>7} {"WAL MB":>7} {"queue max":>9} {"steal":>6} '
          f'{"late ms":>7} {"load µs":>7}  reads p50 ms')  # fmt: skip
    ends = [m.cpu_ticks for m in minutes[1:]] + [load.end_cpu_ticks]
    load_us = load_cpu_us(load, minutes)
    for n, (m, end, load_cpu) in enumerate(zip(minutes, ends, load_us, strict=True), 1):
        refused = sum(m.refused.values())
        steal = steal_share(m.cpu_ticks, end)
        print(
            f'{n:>3} {m.accepted_events / 60:>9,.0f} {statistics.median(m.latencies_ms):>7.1f} '
            f'{percentile(m.latencies_ms, 0.99):>7.1f} {refused:>8} {m.rss_kb / 1024:>7.0f} {m.db_map_kb / 1024:>9.0f} '
            f'{m.anon_kb / 1024:>8.0f} {m.db_bytes / 1e6:>7.0f} '
            f'{m.wal_bytes / 1e6:>7.0f} {max(m.queue_depths, default=0):>9} '
            f'{"?" if steal is None else f"{steal:.1%}":>6} {m.late_ms:>7.0f} {load_cpu:>7.0f}  '
            + ' '.join(f'{name} {statistics.median(ms):.1f}' for name, ms in sorted(m.reads_ms.items()))
        )
    # The ack latency by kind of request: a batch carries 50 events and an envelope ~18 KB, so they take
    # longer than a single event; a p99 that moves with every kind is a stall of the whole server.
    kinds = sorted({kind for m in minutes for kind in m.kind_ms})
    print('\nack latency by kind of request, p50 / p99 ms')
    print(f'{"min":>3}  ' + '  '.join(f'{kind:>15}' for kind in kinds))
    for n, m in enumerate(minutes, 1):
        shares = [m.kind_ms.get(kind, []) for kind in kinds]
        cells = [f'{percentile(ms, 0.5):>7.1f} /{percentile(ms, 0.99):>6.1f}' for ms in shares]
        print(f'{n:>3}  ' + '  '.join(cells))
    refused: dict[int, int] = {}
    for m in minutes:
        for status, count in m.refused.items():
            refused[status] = refused.get(status, 0) + count
    if refused:
        print(f'refused requests by status (0: connection failed): {dict(sorted(refused.items()))}')
    if load.behind:
        print(f'(the sender fell behind: {load.behind} requests skipped with {MAX_IN_FLIGHT} waiting for answers)')
    return minutes


def report(load: Load, turnover: float | None) -> bool:
    minutes = print_minutes(load)
    load_us = load_cpu_us(load, minutes)
    if len(minutes) < 3:
        print('too short to judge flatness (needs 3 minutes or more)')
        return True
    ref, after = minutes[1], minutes[2:]
    rss_dev = max(abs(m.rss_kb / ref.rss_kb - 1) for m in after)
    own_dev = max(abs(m.own_kb / ref.own_kb - 1) for m in after)
    db_map_peak = max(m.db_map_kb for m in minutes) / 1024
    p99_ref = percentile(ref.latencies_ms, 0.99)
    p99_dev = max(abs(percentile(m.latencies_ms, 0.99) / p99_ref - 1) for m in after)
    wal_peak = max(m.wal_bytes for m in minutes) / 1e6
    checks = [
        ('RSS less the database map, after minute 2, largest deviation', f'{own_dev:+.0%}', own_dev <= TARGET_FLAT),
        ('p99 after minute 2, largest deviation', f'{p99_dev:+.0%}', p99_dev <= TARGET_FLAT),
        ('WAL peak', f'{wal_peak:.0f} MB', wal_peak <= TARGET_WAL_MB),
    ]
    if turnover is not None:
        settled = [m for n, m in enumerate(minutes, 1) if n > turnover + 1]
        if len(settled) >= 2:
            growth = (settled[-1].db_bytes - settled[0].db_bytes) / max(1, settled[0].db_bytes)
            checks.append((f'database growth after minute {turnover + 1:.0f}', f'{growth:+.0%}', growth <= 0.2))
    print()
    # Not a check: how the machine's speed moved. The load generator does the same work per request every
    # minute, so its CPU time per request rises when the machine runs slower (busy neighbours on the
    # host; steal does not show it), and the server's p99 has followed it minute by minute.
    p99s = [percentile(m.latencies_ms, 0.99) for m in minutes[1:]]
    speed = [us / load_us[1] - 1 for us in load_us[2:]]
    print(f'  {"load generator CPU per request after minute 2, range":<60} {min(speed):>+8.0%} / {max(speed):+.0%}')
    correlation = rank_correlation(p99s, load_us[1:])
    shown = 'n/a' if correlation is None else f'{correlation:.2f}'
    print(f'  {"rank correlation of p99 with it, minutes 2 on":<60} {shown:>8}')
    whole = 'RSS as a whole after minute 2, largest deviation'
    print(f'  {whole:<60} {rss_dev:>+8.0%}  (the database map fills as its pages are read,')
    print(f"  {'':<60} {'':>8}   up to SQLite's mmap_size; peak here {db_map_peak:.0f} MiB)")
    for name, value, is_met in checks:
        print(f'  {name:<60} {value:>8}  {"met" if is_met else "MISSED"}')
    return all(is_met for _, _, is_met in checks)


def turnover_settings(turnover: float | None) -> tuple[dict[str, str], dt.timedelta, list[str]]:
    """(server environment, how far back events are stamped, `project create` options) for --turnover
    (see the module doc); nothing special without it."""
    if turnover is None:
        return {}, dt.timedelta(0), []
    env = {'PULSEKIT_RETENTION_INTERVAL_S': '30', 'PULSEKIT_RETENTION_FIRST_RUN_S': '30'}
    return env, dt.timedelta(days=1) - dt.timedelta(minutes=turnover), ['--retention-days', '1']


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--minutes', type=float, default=10, help='how long to run (default 10)')
    parser.add_argument('--rate', type=float, default=1000, help='events per second offered (default 1,000)')
    parser.add_argument('--turnover', type=float, help='minutes after which data ages out (retention mode)')
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix='pulsekit-soak-'))
    env, age, project_args = turnover_settings(args.turnover)
    try:
        with contextlib.ExitStack() as stack:
            ready = serve_project('soak', workdir, stack, env, project_args)
            server, key, project, data_dir = ready.server, ready.key, ready.project, ready.data_dir
            load = Load(server.base, key, project['id'], args.rate, age)
            stop = threading.Event()
            sampler = threading.Thread(target=sample_server, args=(load, server, data_dir / 'pulsekit.db', stop))
            log(f'soak: {args.rate:,.0f} events/s for {args.minutes:g} min'
                + (f', data ages out after {args.turnover:g} min' if args.turnover is not None else ''))  # fmt: skip
            sampler.start()
            with DashboardReader(server.base, key, load.record_read):
                asyncio.run(load.run(args.minutes * 60))
            stop.set()
            sampler.join()
            server.check_alive()
    except BenchError as exc:
        log(f'error: {exc}')
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if report(load, args.turnover) else 1


if __name__ == '__main__':
    sys.exit(main())
