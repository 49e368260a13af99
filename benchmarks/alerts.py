"""Alert latency: time from an event's 202 to its webhook's arrival, against a real `pulsekit serve`.

Starts a server on a free 127.0.0.1 port with a fresh data folder, a webhook receiver in this
process, one new_error rule and one pattern rule (cooldown 0), then sends N events for each
rule one at a time and reports p50/p99/max of (webhook arrival - 202 received). Target: p99
under 1 s. Bounded: every wait has a deadline; the server is stopped at the end.

    .venv/bin/python benchmarks/alerts.py [--alerts 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 30.0
ARRIVAL_TIMEOUT_S = 10.0
GAP_S = 0.02  # between events: this measures latency, not throughput


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cli(data_dir: Path, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, '-m', 'pulsekit.cli', *args, '--data-dir', str(data_dir), '--json'],
        capture_output=True, text=True, check=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout)


class Receiver:
    """Records perf_counter() at arrival for each event id in a webhook's payload."""

    def __init__(self):
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('content-length') or 0))
                now = time.perf_counter()
                payload = json.loads(body)
                with receiver.lock:
                    for event in payload.get('events', []):
                        receiver.arrivals.setdefault(event['id'], now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/hook'

    def wait(self, event_id: str, timeout_s: float) -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if event_id in self.arrivals:
                    return self.arrivals[event_id]
            time.sleep(0.001)
        return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(client: httpx.Client, url: str, key: str, receiver: Receiver, make_event, count: int) -> dict:
    latencies, missing = [], 0
    for i in range(count):
        event = {'id': str(uuid.uuid4()), **make_event(i)}
        response = client.post(f'{url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key})
        acked = time.perf_counter()
        response.raise_for_status()
        arrived = receiver.wait(event['id'], ARRIVAL_TIMEOUT_S)
        if arrived is None:
            missing += 1
        else:
            latencies.append((arrived - acked) * 1000)
        time.sleep(GAP_S)
    return {
        'alerts': count,
        'missing': missing,
        'p50_ms': round(statistics.median(latencies), 1) if latencies else None,
        'p99_ms': round(percentile(latencies, 0.99), 1) if latencies else None,
        'max_ms': round(max(latencies), 1) if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--alerts', type=int, default=100, help='alerts per rule type (default 100)')
    parser.add_argument('--json', action='store_true', help='print the results as JSON')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix='pulsekit-bench-alerts-') as tmp:
        data_dir = Path(tmp) / 'data'
        project = cli(data_dir, 'project', 'create', 'Bench')
        admin = cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'admin')['key']
        ingest = cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest')['key']
        sys.path.insert(0, str(ROOT))
        from pulsekit.config import Settings
        from pulsekit.db import migrate, open_database
        from pulsekit.instance_settings import set_setting

        db = open_database(Settings(data_dir=data_dir))
        with db.connection_context():
            migrate(db)
            set_setting('allow_private_webhook_targets', True)  # the receiver is on 127.0.0.1
        db.close()

        receiver = Receiver()
        port = free_port()
        url = f'http://127.0.0.1:{port}'
        log = (Path(tmp) / 'server.log').open('wb')
        proc = subprocess.Popen(
            [sys.executable, '-m', 'pulsekit.cli', 'serve', '--port', str(port), '--data-dir', str(data_dir)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ},
        )  # fmt: skip
        try:
            with httpx.Client(timeout=10) as client:
                deadline = time.monotonic() + STARTUP_TIMEOUT_S
                while True:
                    try:
                        if client.get(f'{url}/api/v1/health').status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit('the server did not start')
                    time.sleep(0.1)
                for body in (
                    {'name': 'New errors', 'rule_type': 'new_error'},
                    {'name': 'Pattern', 'rule_type': 'pattern', 'config': {'pattern': r'^bench pattern \d+$'}},
                ):
                    rule = {'project': project['id'], 'webhook_url': receiver.url, 'cooldown_s': 0, **body}
                    created = client.post(f'{url}/api/v1/alert-rules', json=rule, headers={'X-PulseKit-Key': admin})
                    created.raise_for_status()

                def new_error(i):
                    kind = f'BenchError{i}'
                    return {'type': 'error', 'level': 'error', 'message': f'failure {i}', 'exception': {'type': kind}}

                def pattern(i):
                    return {'type': 'log', 'level': 'info', 'message': f'bench pattern {i}'}

                results = {
                    'new_error': measure(client, url, ingest, receiver, new_error, args.alerts),
                    'pattern': measure(client, url, ingest, receiver, pattern, args.alerts),
                }
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            receiver.server.shutdown()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print('time from 202 to webhook arrival (ms)')
        for name, r in results.items():
            print(
                f'  {name:<10} alerts={r["alerts"]} missing={r["missing"]} '
                f'p50={r["p50_ms"]} p99={r["p99_ms"]} max={r["max_ms"]}'
            )
    target_met = all(r['missing'] == 0 and r['p99_ms'] is not None and r['p99_ms'] < 1000 for r in results.values())
    return 0 if target_met else 1


if __name__ == '__main__':
    sys.exit(main())
