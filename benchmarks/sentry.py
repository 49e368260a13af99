"""Sentry envelope ingestion vs the native endpoint, in stored events per second.

Starts the real server (`pulsekit serve`) on 127.0.0.1 with a fresh database and sends, over
keep-alive HTTP/1.1 connections, a real sentry-sdk error envelope (benchmarks/fixtures/,
~18 KB, captured by capture_sentry_envelope.py) with a fresh event id per request, plain and
gzip-compressed, then the same event in native form to POST /api/v1/events. Each variant
goes to its own project; what counts is what is stored and visible afterwards (a count in
the database plus the first and last ids read back through the read API), not what was
acknowledged. Every variant is bounded in requests and in seconds.

    .venv/bin/python benchmarks/sentry.py [--requests 20000] [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pulsekit.sentry.envelope import parse_envelope, parse_event_payload  # noqa: E402
from pulsekit.sentry.mapping import map_sentry_event  # noqa: E402

FIXTURE = Path(__file__).parent / 'fixtures' / 'sentry-python-error.envelope'
TARGET_STORED_PER_S = 1500
HOST = '127.0.0.1'
GZIP_LEVEL = 6  # Node's createGzip default, what @sentry/node sends


@dataclass
class Variant:
    name: str
    project_id: int
    key: str
    path: str
    headers: dict[str, str]
    bodies: object  # callable(index) -> (event id hex, body bytes)


@dataclass
class Result:
    name: str
    sent: int
    accepted: int
    statuses: dict[int, int]
    elapsed_s: float
    stored: int
    visible: bool
    body_bytes: int
    server_cpu_s: float
    client_cpu_s: float

    @property
    def stored_per_cpu_s(self) -> float:
        return self.stored / self.server_cpu_s if self.server_cpu_s else 0.0

    @property
    def stored_per_s(self) -> float:
        return self.stored / self.elapsed_s if self.elapsed_s else 0.0


def cli(data_dir: Path, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, '-m', 'pulsekit.cli', *args, '--data-dir', str(data_dir), '--json'],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def create_project(data_dir: Path, name: str) -> tuple[int, str]:
    project = cli(data_dir, 'project', 'create', name)
    key = cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read')
    return project['id'], key['key']


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    log = (data_dir / 'server.log').open('wb')
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'pulsekit.cli',
            'serve',
            '--host',
            HOST,
            '--port',
            str(port),
            '--data-dir',
            str(data_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f'server exited:\n{(data_dir / "server.log").read_text()[-3000:]}')
        try:
            if httpx.get(f'http://{HOST}:{port}/api/v1/health', timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    sys.exit('server did not start within 30 s')


# --- bodies: a fresh event id per request ------------------------------------------------------


def sentry_bodies(template: bytes, template_id: str, count: int, compress: bool):
    """Envelope bodies with the fixture's event id (header and payload) replaced; same length."""
    if not compress:

        def plain(index: int) -> tuple[str, bytes]:
            event_id = uuid.uuid4().hex
            return event_id, template.replace(template_id.encode(), event_id.encode())

        return plain
    prepared = []
    for _ in range(count):  # compressed up front: the client must not eat the server's CPU while timing
        event_id = uuid.uuid4().hex
        prepared.append(
            (event_id, gzip.compress(template.replace(template_id.encode(), event_id.encode()), GZIP_LEVEL))
        )
    return prepared.__getitem__


def native_bodies(event: dict, count: int, compress: bool):
    placeholder = '00000000000000000000000000000000'
    template = orjson.dumps({**event, 'id': placeholder})
    return sentry_bodies(template, placeholder, count, compress)


# --- a minimal keep-alive HTTP/1.1 client (httpx would be the bottleneck on 2 cores) -----------


async def connection_loop(port: int, variant: Variant, state: dict, limit: int, deadline: float) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    head = ''.join(f'{k}: {v}\r\n' for k, v in variant.headers.items())
    try:
        while state['next'] < limit and time.monotonic() < deadline:
            index = state['next']
            state['next'] += 1
            event_id, body = variant.bodies(index)
            request = (
                f'POST {variant.path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n'
            )
            writer.write(request.encode() + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b'\r\n', b''):
                    break
                name, _, value = line.decode('latin-1').partition(':')
                if name.strip().lower() == 'content-length':
                    length = int(value)
            await reader.readexactly(length)
            status = int(status_line.split()[1])
            state['statuses'][status] = state['statuses'].get(status, 0) + 1
            state['bytes'] += len(body)
            if status in (200, 202):
                state['ids'].append(event_id)
    finally:
        writer.close()


async def run_variant(port: int, variant: Variant, limit: int, seconds: float, connections: int) -> tuple:
    state = {'next': 0, 'statuses': {}, 'bytes': 0, 'ids': []}
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(*(connection_loop(port, variant, state, limit, deadline) for _ in range(connections)))
    return state, time.monotonic() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): robust to other load on the machine, unlike wall time."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _offset(bodies, start: int):
    return lambda index: bodies(start + index)


def count_stored(data_dir: Path, project_id: int) -> int:
    with sqlite3.connect(data_dir / 'pulsekit.db') as db:
        return db.execute('SELECT count(*) FROM events WHERE project_id = ?', (project_id,)).fetchone()[0]


def is_visible(port: int, key: str, event_ids: list[str]) -> bool:
    for event_id in event_ids:
        response = httpx.get(f'http://{HOST}:{port}/api/v1/events/{event_id}', headers={'X-PulseKit-Key': key})
        if response.status_code != 200:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--requests', type=int, default=20_000, help='at most this many requests per variant')
    parser.add_argument('--seconds', type=float, default=10.0, help='at most this long per variant')
    parser.add_argument('--connections', type=int, default=16, help='concurrent keep-alive connections')
    parser.add_argument('--warmup', type=int, default=2000, help='requests sent first to a separate project')
    parser.add_argument('--rounds', type=int, default=2, help='variants take turns this many times')
    parser.add_argument('--variants', default='sentry plain,native plain,sentry gzip,native gzip', help='which to run')
    args = parser.parse_args()

    template = FIXTURE.read_bytes()
    envelope = parse_envelope(template)
    template_id = envelope.headers['event_id']
    native_event = map_sentry_event(parse_event_payload(envelope.event_items[0].payload))
    native_event.pop('id', None)

    data_dir = Path(tempfile.mkdtemp(prefix='pulsekit-bench-sentry-'))
    port = free_port()
    names = ['warmup', 'sentry plain', 'native plain', 'sentry gzip', 'native gzip']
    projects = {name: create_project(data_dir, name) for name in names}
    server = start_server(data_dir, port)
    try:

        def variant(name: str, count: int, project: str | None = None) -> Variant:
            project_id, key = projects[project or name]
            is_gzip = name.endswith('gzip')
            if name.startswith('native'):
                path, headers = '/api/v1/events', {'X-PulseKit-Key': key, 'Content-Type': 'application/json'}
                bodies = native_bodies(native_event, count, is_gzip)
            else:
                path = f'/api/{project_id}/envelope/'
                headers = {
                    'X-Sentry-Auth': f'Sentry sentry_version=7, sentry_client=sentry.python/2.75.0, sentry_key={key}'
                }
                headers['Content-Type'] = 'application/x-sentry-envelope'
                bodies = sentry_bodies(template, template_id, count, is_gzip)
            if is_gzip:
                headers['Content-Encoding'] = 'gzip'
            return Variant(name, project_id, key, path, headers, bodies)

        print(
            f'fixture: {FIXTURE.name}, {len(template):,} bytes (native form {len(orjson.dumps(native_event)):,} bytes)'
        )
        print(f'server: 127.0.0.1:{port} (pid {server.pid}), fresh database in {data_dir}')
        print(f'{os.cpu_count()} cores, shared by the server and this client')
        print(
            f'per variant: at most {args.requests:,} requests or {args.seconds:g} s in {args.rounds} rounds, '
            f'{args.connections} connections\n'
        )
        for kind in ('sentry plain', 'native plain'):  # warm both paths, in a project of their own
            warm = variant(kind, args.warmup, project='warmup')
            asyncio.run(run_variant(port, warm, args.warmup, args.seconds, args.connections))

        # Variants take turns in rounds, so that drift (a growing database, other load on the
        # machine) spreads over all of them instead of penalising whichever runs first or last.
        names_run = [n.strip() for n in args.variants.split(',')]
        totals = {
            name: {'statuses': {}, 'bytes': 0, 'ids': [], 'elapsed': 0.0, 'cpu': 0.0, 'client_cpu': 0.0}
            for name in names_run
        }
        per_round = max(1, args.requests // args.rounds)
        variants = {name: variant(name, per_round * args.rounds) for name in names_run}
        offsets = dict.fromkeys(names_run, 0)
        for _ in range(args.rounds):
            for name in names_run:
                v, total = variants[name], totals[name]
                window = Variant(v.name, v.project_id, v.key, v.path, v.headers, _offset(v.bodies, offsets[name]))
                cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
                state, elapsed = asyncio.run(
                    run_variant(port, window, per_round, args.seconds / args.rounds, args.connections)
                )
                total['cpu'] += cpu_seconds(server.pid) - cpu_before
                total['client_cpu'] += time.process_time() - client_before
                total['elapsed'] += elapsed
                total['bytes'] += state['bytes']
                total['ids'] += state['ids']
                offsets[name] += state['next']
                for code, n in state['statuses'].items():
                    total['statuses'][code] = total['statuses'].get(code, 0) + n
        results = []
        for name in names_run:
            v, total = variants[name], totals[name]
            ids = total['ids']
            results.append(
                Result(
                    name=name,
                    sent=sum(total['statuses'].values()),
                    accepted=len(ids),
                    statuses=total['statuses'],
                    elapsed_s=total['elapsed'],
                    stored=count_stored(data_dir, v.project_id),
                    visible=bool(ids) and is_visible(port, v.key, [ids[0], ids[-1]]),
                    body_bytes=total['bytes'],
                    server_cpu_s=total['cpu'],
                    client_cpu_s=total['client_cpu'],
                )
            )
    finally:
        server.terminate()
        server.wait(30)

    columns = ('requests', 'accepted', 'stored', 'seconds', 'stored/s', 'MB/s in', 'srv CPU s', '/CPU-s', 'cli CPU s')
    print(f'{"variant":<14}' + ''.join(f'{c:>10}' for c in columns) + '  visible')
    for r in results:
        print(
            f'{r.name:<14}{r.sent:>10,}{r.accepted:>10,}{r.stored:>10,}{r.elapsed_s:>10.2f}{r.stored_per_s:>10,.0f}'
            f'{r.body_bytes / r.elapsed_s / 1e6:>10.1f}{r.server_cpu_s:>10.2f}{r.stored_per_cpu_s:>10,.0f}'
            f'{r.client_cpu_s:>10.2f}'
            f'  {"yes" if r.visible else "NO"}'
        )
        other = {code: n for code, n in r.statuses.items() if code not in (200, 202)}
        if other:
            print(f'{"":<14}non-2xx answers: {other}')
    by_name = {r.name: r for r in results}
    print()
    for kind in ('plain', 'gzip'):
        if f'sentry {kind}' not in by_name or f'native {kind}' not in by_name:
            continue
        sentry, native = by_name[f'sentry {kind}'], by_name[f'native {kind}']
        ratio = sentry.stored_per_s / native.stored_per_s if native.stored_per_s else float('nan')
        cpu_ratio = sentry.stored_per_cpu_s / native.stored_per_cpu_s if native.stored_per_cpu_s else float('nan')
        print(
            f'{kind:<6} sentry/native: {ratio:.2f} in stored events/s, {cpu_ratio:.2f} in events per server CPU-second'
        )
    sentry_rates = [r.stored_per_s for r in results if r.name.startswith('sentry')]
    if sentry_rates:
        worst = min(sentry_rates)
        verdict = 'meets' if worst >= TARGET_STORED_PER_S else 'BELOW'
        print(f'target >= {TARGET_STORED_PER_S:,} stored Sentry events/s: {verdict} ({worst:,.0f}/s, slowest run)')
    print(f'load average while running (other processes share the cores): {os.getloadavg()[0]:.2f}')
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
