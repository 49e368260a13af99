"""Instructions per stored event as the database grows: the server's own work, counted, not timed.

On the shared VMs these benchmarks run on, CPU time per event drifts by a third within one run of
`sustained.py` whether or not the server's work changes (issue #20, item 2), and no hardware counter
is exposed. Valgrind's callgrind counts the instructions a process executes in user space (Python,
SQLite, our compiled decoders): the same count for the same work, however busy the machine is.

This fills one database through the real server (wrk, batches of 100, as `sustained.py` does) and,
each time it holds one of the `--at` sizes, restarts the server under callgrind and counts what
storing `--measure` more events costs it, per thread, one batch request at a time (so every run
commits the same groups). Kernel work (page cache, syscalls) is not counted: `sustained.py` prints
that part as sys CPU per event.

    .venv/bin/python benchmarks/instructions_per_event.py [--at 100000,900000] [--measure 20000]

Needs valgrind (Debian's package) and wrk. Under callgrind the server runs ~50x slower: its start
takes a few minutes, and each measurement of 20,000 events about five.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from harness import (
    BenchError,
    Server,
    cli_json,
    compact,
    find_database,
    free_port,
    log,
    make_events,
    pulsekit_cmd,
    render_wrk_script,
    send_until_stored,
    stored_events,
)

BATCH = 100
STARTUP_TIMEOUT_S = 1800  # the server's imports and its event-id filter fill, at ~50x slower
FILL_TIMEOUT_S = 1800  # 1M events take ~2 minutes: a fill that stalls is an error, not a wait
FILTER_FILLED = 'event id filter: '  # its log line once filled (pulsekit/events/event_ids.py)
TOTALS = re.compile(r'^totals: (\d+)', re.MULTILINE)
THREAD = re.compile(r'^thread: (\d+)', re.MULTILINE)


class Run:
    """One data directory, filled and measured in turns."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.workdir = workdir
        self.data_dir = workdir / 'data'
        self.data_dir.mkdir()
        self.env = {
            **os.environ,
            'NICEGUI_STORAGE_PATH': str(workdir / 'nicegui'),
            'PULSEKIT_RATE_LIMIT_EVENTS_PER_S': '0',
        }
        self.templates = make_events(48, seed, dt.datetime.now(dt.UTC))
        self.seed = seed
        self.key = ''
        self.db_path: Path | None = None
        self.fills = 0  # wrk's phase: part of every id it makes, so each fill's ids are new (12 bits)

    def serve_args(self, port: int) -> list[str]:
        return ['serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', str(self.data_dir)]

    def fill(self, target: int) -> None:
        """Store events natively, as fast as they go, until `target` are stored."""
        cli = pulsekit_cmd(None)
        port = free_port()
        with Server('pulsekit-fill', [*cli, *self.serve_args(port)], port, self.workdir, self.env) as server:
            server.wait_healthy()
            if not self.key:
                opts = ['--data-dir', str(self.data_dir), '--json']
                project = cli_json([*cli, 'project', 'create', 'instructions', *opts], self.env, self.workdir)
                key_cmd = [*cli, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read', *opts]
                self.key = cli_json(key_cmd, self.env, self.workdir)['key']
                self.db_path = find_database(self.data_dir)
            assert self.db_path is not None
            if stored_events(self.db_path) >= target:
                return
            self.fills += 1
            path = '/api/v1/events/batch'
            script = self.workdir / 'wrk.lua'
            templates = [compact(event) for event in self.templates]
            script.write_text(
                render_wrk_script(templates, self.fills, BATCH, path, self.workdir / 'wrk.json', self.seed, 0, self.key)
            )
            wrk = ['wrk', '-t2', '-c8', '-d3600s', '--timeout=30s', '-s', str(script), server.base + path]
            log(f'filling to {target:,} events')
            db_path = self.db_path
            send_until_stored(wrk, server, lambda: stored_events(db_path), target, FILL_TIMEOUT_S)

    def measure(self, count: int) -> tuple[int, dict[int, int]]:
        """Events stored before, and instructions per callgrind thread number for storing `count` more."""
        assert self.db_path is not None
        before = stored_events(self.db_path)
        out_dir = self.workdir / f'callgrind-{before}'
        out_dir.mkdir()
        port = free_port()
        cmd = [
            'valgrind',
            '--tool=callgrind',
            '--instr-atstart=no',  # not the start, whose filter fill grows with the data: only the events
            '--separate-threads=yes',
            f'--callgrind-out-file={out_dir}/callgrind.out',
            sys.executable,
            '-m',
            'pulsekit.cli',
            *self.serve_args(port),
        ]
        with Server('pulsekit-callgrind', cmd, port, self.workdir, self.env) as server:
            log(f'waiting for the server under callgrind (at {before:,} events)')
            server.wait_healthy(STARTUP_TIMEOUT_S)
            wait_for_filter(server)
            callgrind_control('-i', 'on', str(server.pid))
            self.send(server.base, count)
            callgrind_control('-i', 'off', str(server.pid))
            callgrind_control('-d', str(server.pid))
            added = stored_events(self.db_path) - before
            if added != count:
                raise BenchError(f'{count:,} events acknowledged, {added:,} stored')
        return before, read_totals(out_dir)

    def send(self, base: str, count: int) -> None:
        """`count` events with fresh ids, one batch request at a time, each acknowledged before the next."""
        now = dt.datetime.now(dt.UTC).isoformat()
        log(f'sending {count:,} events, {BATCH} per request')
        with httpx.Client(base_url=base, headers={'X-PulseKit-Key': self.key}, timeout=600) as client:
            for start in range(0, count, BATCH):
                events = [
                    {**self.templates[(start + i) % len(self.templates)], 'id': uuid.uuid4().hex, 'timestamp': now}
                    for i in range(min(BATCH, count - start))
                ]
                response = client.post('/api/v1/events/batch', json={'events': events})
                if response.status_code != 202:
                    raise BenchError(f'batch answered {response.status_code}: {response.text[:300]}')


def wait_for_filter(server: Server) -> None:
    """Until the server has filled its event-id filter, a background read of every stored id that
    grows with the data: counted, it would swamp the events' own work (13x at 900,000 events)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while FILTER_FILLED not in server.log_path.read_text(errors='replace'):
        server.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f'the server did not log {FILTER_FILLED!r}:\n{server.log_tail()}')
        time.sleep(1)


def callgrind_control(*args: str) -> None:
    subprocess.run(['callgrind_control', *args], check=True, capture_output=True, timeout=300)


def read_totals(out_dir: Path) -> dict[int, int]:
    """Instructions per thread from the dump's files (one per thread; threads that ran nothing left out)."""
    totals: dict[int, int] = {}
    for path in out_dir.iterdir():
        text = path.read_text(errors='replace')
        thread, total = THREAD.search(text), TOTALS.search(text)
        if thread and total and int(total.group(1)):
            number = int(thread.group(1))
            totals[number] = totals.get(number, 0) + int(total.group(1))
    if not totals:
        raise BenchError(f'callgrind wrote no counts under {out_dir}')
    return totals


def report(runs: list[tuple[int, dict[int, int]]], measured: int) -> None:
    sizes, counts = [size for size, _ in runs], [c for _, c in runs]
    threads = sorted({t for c in counts for t in c}, key=lambda t: -counts[0].get(t, 0))
    print(f'\nInstructions per stored event (user space, callgrind), {measured:,} events in batches of {BATCH}')
    print(f'{"thread":>8}' + ''.join(f'{f"at {size:,}":>16}' for size in sizes) + f'{"last / first":>14}')
    for thread in threads:
        per_event = [c.get(thread, 0) / measured for c in counts]
        if max(per_event) < 1000:
            continue  # threads that did next to nothing (the key watcher, idle helpers)
        ratio = f'{per_event[-1] / per_event[0]:14.2f}' if per_event[0] else f'{"":>14}'
        print(f'{thread:>8}' + ''.join(f'{p:16,.0f}' for p in per_event) + ratio)
    totals = [sum(c.values()) / measured for c in counts]
    print(f'{"all":>8}' + ''.join(f'{p:16,.0f}' for p in totals) + f'{totals[-1] / totals[0]:14.2f}')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--at', default='100000,900000', help='stored events at which to measure (comma-separated)')
    parser.add_argument('--measure', type=int, default=20_000, help='events stored under callgrind each time')
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--keep', action='store_true', help='keep the run directory (callgrind files included)')
    args = parser.parse_args()
    for tool in ('valgrind', 'callgrind_control', 'wrk'):
        if not shutil.which(tool):
            print(f'{tool} is not installed (apt-get install valgrind wrk)', file=sys.stderr)
            return 2
    sizes = sorted(int(size) for size in args.at.split(','))
    workdir = Path(tempfile.mkdtemp(prefix='pulsekit-instructions-'))
    try:
        run = Run(workdir, args.seed)
        runs = []
        for size in sizes:
            run.fill(size)
            runs.append(run.measure(args.measure))
        report(runs, args.measure)
    except BenchError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f'run directory kept: {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
