"""What the benchmarks share: the server subprocess, /proc readings, realistic events, the CLI.

Each benchmark starts the real `pulsekit serve` on 127.0.0.1 with a fresh data directory; these
helpers keep that the same everywhere (ingest.py, soak.py, sustained.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

HEALTH_PATH = '/api/v1/health'
LUA_TEMPLATE = Path(__file__).resolve().parent / 'ingest.lua.tmpl'
READ_INTERVAL_S = 0.5  # how often the dashboard-like reader asks


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(',', ':'))


class BenchError(Exception):
    """The benchmark itself could not run (exit code 2)."""


def log(msg: str) -> None:
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Events


def make_events(count: int, seed: int, now: dt.datetime) -> list[dict[str, Any]]:
    """Realistic error events (~2.5 KB as compact JSON), valid per docs/protocol.md, without ids.

    A handful of exception types over a handful of code paths, so the server groups them into
    a realistic number of issues rather than one or thousands.
    """
    rng = random.Random(seed)
    errors = [
        ('ZeroDivisionError', 'division by zero', 'builtins'),
        ('KeyError', "'total'", 'builtins'),
        ('ValueError', "invalid literal for int() with base 10: 'abc'", 'builtins'),
        ('TimeoutError', 'upstream payment gateway did not answer within 30s', 'builtins'),
        ('IntegrityError', 'UNIQUE constraint failed: orders.external_ref', 'sqlite3'),
        ('AttributeError', "'NoneType' object has no attribute 'customer_id'", 'builtins'),
    ]
    paths = [
        ('checkout', ['views', 'services', 'billing', 'pricing']),
        ('orders', ['api', 'handlers', 'repository', 'models']),
        ('accounts', ['routes', 'auth', 'profile', 'storage']),
        ('reports', ['jobs', 'export', 'aggregate', 'formatting']),
    ]
    libs = [
        ('starlette/routing.py', 'starlette.routing', 'handle'),
        ('starlette/middleware/errors.py', 'starlette.middleware.errors', '__call__'),
        ('fastapi/routing.py', 'fastapi.routing', 'run_endpoint_function'),
        ('anyio/to_thread.py', 'anyio.to_thread', 'run_sync'),
    ]
    events = []
    for i in range(count):
        exc_type, exc_value, exc_module = errors[i % len(errors)]
        app, layers = paths[(i // len(errors)) % len(paths)]
        frames = []
        for lib_file, lib_module, lib_function in libs:
            lineno = rng.randint(40, 700)
            frames.append(
                {
                    'filename': lib_file,
                    'function': lib_function,
                    'module': lib_module,
                    'lineno': lineno,
                    'in_app': False,
                    'context_line': '        await self.app(scope, receive, send)',
                }
            )
        for depth, layer in enumerate(layers):
            module = f'shop.{app}.{layer}'
            function = ['handle', 'process', 'compute_total', 'apply'][depth]
            lineno = rng.randint(10, 400)
            frames.append(
                {
                    'filename': f'shop/{app}/{layer}.py',
                    'function': function,
                    'module': module,
                    'lineno': lineno,
                    'in_app': True,
                    'pre_context': [f'    def {function}(self, order, context):'],
                    'context_line': f'        result = self.{layers[min(depth + 1, 3)]}.run(items, context)',
                    'post_context': ['        return result'],
                }
            )
        ts = now - dt.timedelta(seconds=rng.randint(0, 120), milliseconds=rng.randint(0, 999))
        event: dict[str, Any] = {
            'type': 'error',
            'level': 'fatal' if i % 11 == 0 else 'error',
            'message': f'{exc_type}: {exc_value}',
            'exception': {'type': exc_type, 'value': exc_value, 'module': exc_module},
            'stacktrace': {'frames': frames},
            'environment': rng.choice(['production', 'production', 'staging']),
            'release': f'shop@2.{rng.randint(3, 5)}.{rng.randint(0, 9)}',
            'tags': {
                'region': rng.choice(['eu-west-1', 'us-east-1', 'ap-south-1']),
                'customer_tier': rng.choice(['free', 'gold', 'platinum']),
                'browser': rng.choice(['Firefox 132', 'Chrome 131', 'Safari 18']),
                'server_name': f'web-{rng.randint(1, 12):02d}',
                'transaction': f'POST /{app}/{layers[0]}',
            },
            'user': {'id': str(rng.randint(1, 99999)), 'email': f'user{rng.randint(1, 9999)}@example.com'},
            'metadata': {
                'order_id': rng.randint(1000, 999999),
                'cart': {'items': rng.randint(1, 9), 'currency': 'EUR', 'total_cents': rng.randint(100, 90000)},
            },
            'timestamp': ts.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
        }
        if i % 3 == 0:
            event['exception']['chain'] = [{'type': 'KeyError', 'value': "'price'", 'module': 'builtins'}]
        events.append(event)
    return events


# ---------------------------------------------------------------------------------------------
# Processes


def percentile(values: list[float], q: float) -> float:
    """The value below which a share q of `values` lies (nearest rank); 0.0 for none."""
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] if values else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def process_work(pid: int) -> tuple[int, float, float]:
    """(bytes the process wrote, CPU seconds it used, of which in the kernel): per event, they show
    why a rate moves, and unlike the rate they hardly change when other tenants of a shared machine
    take its cores. The kernel's share grows when writes need new page-cache pages (see
    benchmarks/README.md)."""
    try:
        with open(f'/proc/{pid}/io') as f:
            written = next(int(line.split()[1]) for line in f if line.startswith('wchar:'))
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        tick = os.sysconf('SC_CLK_TCK')
        return written, (int(fields[11]) + int(fields[12])) / tick, int(fields[12]) / tick
    except (FileNotFoundError, ProcessLookupError, PermissionError, StopIteration):
        return 0, 0.0, 0.0


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds (user + kernel) of each of the process's threads so far, summed by thread name
    (`comm`: pk-writer, pk-checkpoint...; the event loop keeps the process's name)."""
    tick, threads = os.sysconf('SC_CLK_TCK'), {}
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for task in os.scandir(f'/proc/{pid}/task'):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                with open(f'{task.path}/stat') as f:
                    head, tail = f.read().rsplit(')', 1)
                fields = tail.split()
                name = head.split('(', 1)[1]
                threads[name] = threads.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return threads


def rss_kb(pid: int, field: str = 'VmRSS') -> int | None:
    """Resident memory in kB; field='RssAnon' counts only the heap and stacks, not mapped files
    (the server maps up to 256 MB of its database, which VmRSS counts as the pages are read)."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(f'{field}:'):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def mapped_file_kb(pid: int, path: Path) -> int:
    """Resident kB of the process's memory maps of `path` (the database's mmap: page cache, not heap)."""
    total, in_file = 0, False
    try:
        with open(f'/proc/{pid}/smaps') as f:
            for line in f:
                if line[0] in '0123456789abcdef' and '-' in line.split(' ', 1)[0]:  # a mapping's header line
                    in_file = line.rstrip('\n').endswith(str(path))
                elif in_file and line.startswith('Rss:'):
                    total += int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return total


def descendants(pid: int) -> list[int]:
    """pid and all its descendants (read once per phase; the server does not fork under load)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        result.append(p)
        todo.extend(children.get(p, []))
    return result


def tree_rss_kb(pids: list[int]) -> int:
    return sum(rss_kb(p) or 0 for p in pids)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf('SC_CLK_TCK')


def host_cpu_ticks() -> tuple[int, int]:
    """(all CPU time, time stolen by the hypervisor for other guests), in ticks since boot."""
    try:
        with open('/proc/stat') as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return (0, 0)
    return (sum(ticks), ticks[7] if len(ticks) > 7 else 0)


def steal_share(start: tuple[int, int], end: tuple[int, int]) -> float | None:
    """The share of the machine's CPU time the hypervisor gave other guests between two readings."""
    if 0 in (start[0], end[0]) or end[0] <= start[0]:
        return None
    return (end[1] - start[1]) / (end[0] - start[0])


def machine_busy_s() -> float:
    """CPU time all cores spent busy since boot, in seconds (/proc/stat)."""
    with open('/proc/stat') as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf('SC_CLK_TCK')


def own_cpu_s() -> float:
    """CPU time of this script and of its finished children (wrk), in seconds."""
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


class BackgroundThread:
    """`_run` on a daemon thread for the length of a `with` block; `_run` returns once `_stop` is set."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class ProcSampler(BackgroundThread):
    """While a phase runs: the peak RSS of process trees (sampled every 50 ms) and their CPU time."""

    def __init__(self, pid: int | list[int], interval: float = 0.05) -> None:
        self.pids = [p for root in ([pid] if isinstance(pid, int) else pid) for p in descendants(root)]
        self.interval = interval
        self.peak_kb = tree_rss_kb(self.pids)
        self.cpu_s = 0.0
        self.wall_s = 0.0
        super().__init__()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pids))

    def __enter__(self) -> Self:
        self._cpu0, self._t0 = cpu_seconds(self.pids), time.monotonic()
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pids))
        self.cpu_s = cpu_seconds(self.pids) - self._cpu0
        self.wall_s = time.monotonic() - self._t0


class Server:
    """A server subprocess on 127.0.0.1, stopped (SIGINT, then SIGKILL) on exit."""

    def __init__(self, name: str, cmd: list[str], port: int, cwd: Path, env: dict[str, str]) -> None:
        self.name, self.cmd, self.port, self.cwd, self.env = name, cmd, port, cwd, env
        self.base = f'http://127.0.0.1:{port}'
        self.log_path = cwd / f'{name}.log'
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log(f'starting {self.name}: {" ".join(self.cmd)}')
        self._log = open(self.log_path, 'wb')  # closed in __exit__
        try:
            self.proc = subprocess.Popen(
                self.cmd, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            self._log.close()
            raise BenchError(f'cannot start {self.name}: {exc}') from exc
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])
        except OSError:
            return ''

    def wait_healthy(self, timeout: float = 60.0) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise BenchError(f'{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}')
            with contextlib.suppress(OSError), urllib.request.urlopen(self.base + HEALTH_PATH, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - start
            time.sleep(0.1)
        raise BenchError(f'{self.name} did not answer {HEALTH_PATH} within {timeout:.0f} s:\n{self.log_tail()}')

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + HEALTH_PATH, timeout=5) as r:
            return json.loads(r.read())

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise BenchError(f'{self.name} died (exit {self.proc.returncode}):\n{self.log_tail()}')

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f'{self.name} did not stop on SIGINT, killing it')
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@dataclass
class ProjectServer:
    """A running server with one project and a key that may ingest and read."""

    server: Server
    data_dir: Path
    project: dict[str, Any]
    key: str


def serve_project(
    name: str,
    home: Path,
    stack: contextlib.ExitStack,
    env: dict[str, str] | None = None,
    project_args: Sequence[str] = (),
) -> ProjectServer:
    """Start a server on a fresh data directory under `home` (stopped when `stack` closes), with rate
    limits off, and create project `name` (`project_args`: more `project create` options) and its key."""
    cli = pulsekit_cmd(None)
    data_dir = home / 'data'
    data_dir.mkdir(parents=True)
    env = {
        **os.environ,
        'NICEGUI_STORAGE_PATH': str(home / 'nicegui'),
        'PULSEKIT_RATE_LIMIT_EVENTS_PER_S': '0',
        **(env or {}),
    }
    port = free_port()
    serve = [*cli, 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', str(data_dir)]
    server = stack.enter_context(Server(name, serve, port, home, env))
    server.wait_healthy()
    opts = ['--data-dir', str(data_dir), '--json']
    project = cli_json([*cli, 'project', 'create', name, *project_args, *opts], env, home)
    key_cmd = [*cli, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read', *opts]
    return ProjectServer(server, data_dir, project, cli_json(key_cmd, env, home)['key'])


# ...Error, ...Exception, and psycopg's named ones (psycopg.errors.DeadlockDetected: ...)
EXCEPTION_LINE = re.compile(r'^([A-Za-z_][\w.]*(?:Error|Exception)|[\w.]*errors\.\w+): ?(.*)$')


def summarize_log(path: Path) -> dict[str, int]:
    """Exceptions the server logged, '<type>: <message>' -> count (the last line of each traceback)."""
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text(errors='replace').splitlines():
            m = EXCEPTION_LINE.match(line)
            if m:
                key = f'{m.group(1)}: {m.group(2)[:100]}'
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# PulseKit CLI


def pulsekit_cmd(explicit: str | None) -> list[str]:
    if explicit:  # the servers run in the run directory: make relative paths absolute
        return [str(Path(part).absolute()) if Path(part).exists() else part for part in explicit.split()]
    script = Path(sys.executable).parent / 'pulsekit'
    if script.exists():
        return [str(script)]
    return [sys.executable, '-m', 'pulsekit.cli']


def cli_json(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    if proc.returncode != 0:
        raise BenchError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f'{" ".join(cmd)} did not print JSON: {proc.stdout!r}') from exc


# wrk and the database


def render_wrk_script(
    templates: list[str],
    nonce: int,
    batch: int,
    path: str,
    out: Path,
    seed: int,
    max_ids: int,
    key: str,
    addrs: list[str] | None = None,
) -> str:
    """The wrk Lua script (ingest.lua.tmpl) for one run: fresh ids per event, `batch` events per request.

    `addrs` ('host:port'): servers behind one imagined load balancer; wrk thread i connects to
    addrs[i % len(addrs)] (default: the URL given to wrk)."""
    lua_templates = ',\n'.join(f'  [==[{t[1:]}]==]' for t in templates)
    return (
        LUA_TEMPLATE.read_text()
        .replace('@@PHASE@@', str(nonce))
        .replace('@@BATCH@@', str(0 if batch == 1 else batch))
        .replace('@@PATH@@', path)
        .replace('@@OUT@@', str(out))
        .replace('@@SEED@@', str(seed))
        .replace('@@MAX_IDS@@', str(max_ids))
        .replace('@@KEY@@', key)
        .replace('@@ADDRS@@', ', '.join(f"'{a}'" for a in addrs or []))
        .replace('@@TEMPLATES@@', lua_templates)
    )


def send_until_stored(wrk: list[str], server: Server, stored: Callable[[], int], target: int, timeout_s: float) -> None:
    """Run `wrk` (started with a long -d) until `stored()` reaches `target`, then stop it; BenchError past
    `timeout_s` or when the server dies."""
    load = subprocess.Popen(wrk, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while stored() < target:
            server.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f'{target:,} events were not stored within {timeout_s:.0f} s')
            time.sleep(0.5)
    finally:
        load.terminate()
        load.wait(30)


def find_database(data_dir: Path) -> Path:
    for path in sorted(data_dir.rglob('*.db')) + sorted(data_dir.rglob('*.sqlite*')):
        if path.suffix in {'.db', '.sqlite', '.sqlite3'}:
            with contextlib.closing(ro_connect(path)) as db:
                if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone():
                    return path
    raise BenchError(f'no SQLite database with an `events` table under {data_dir}')


def ro_connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f'file:{path}?mode=ro', uri=True, timeout=10)
    db.execute('PRAGMA busy_timeout = 10000')
    return db


def stored_events(db_path: Path) -> int:
    """Events stored so far (`max(rowid)`: no count over a growing table), read-only beside the server."""
    with contextlib.closing(ro_connect(db_path)) as db:
        return db.execute('SELECT coalesce(max(rowid), 0) FROM events').fetchone()[0]


class DashboardReader(BackgroundThread):
    """Polls the read API like open dashboard pages: newest events, issues, a full-text search."""

    def __init__(self, base: str, key: str, on_read: Callable[[str, float], None] | None = None) -> None:
        self.urls = {
            'events': f'{base}/api/v1/events?limit=50',
            'issues': f'{base}/api/v1/issues?limit=50',
            'search': f'{base}/api/v1/events?q=checkout',
        }
        self.key = key
        self.on_read = on_read  # (query name, milliseconds) after each successful read
        self.reads = 0
        self.failures = 0
        super().__init__()

    def _run(self) -> None:
        while not self._stop.wait(READ_INTERVAL_S):
            for name, url in self.urls.items():
                request = urllib.request.Request(url, headers={'X-PulseKit-Key': self.key})
                try:
                    start = time.perf_counter()
                    with urllib.request.urlopen(request, timeout=10) as response:
                        response.read()
                    self.reads += 1
                    if self.on_read:
                        self.on_read(name, (time.perf_counter() - start) * 1000)
                except Exception:
                    self.failures += 1
