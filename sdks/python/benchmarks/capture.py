"""Time spent in the calling thread per capture, beside sentry-sdk measured in the same run.

    .venv/bin/python sdks/python/benchmarks/capture.py [--calls 5000]

Both SDKs send to the same local sink (a real HTTP server on 127.0.0.1 answering 200 to
anything), each in its own subprocess so their hooks never meet. For each SDK it measures, with
time.perf_counter_ns around each call:

- `capture`: a custom event with a type, message, tags and metadata (sentry-sdk: capture_event
  with the same fields), and `capture_exception` of an exception raised 4 frames deep;
- single thread: back-to-back calls;
- 8 threads: each thread calls about once a millisecond (as request threads of a busy app would,
  not in a tight loop, where the numbers would measure the GIL's switch interval instead).

It prints median and p99 in microseconds and the PulseKit/sentry-sdk ratio. The machines are
shared and noisy: compare the ratio, and rerun rather than trust one figure.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import subprocess
import sys
import threading
import time

THREADS = 8
PACE_S = 0.001


def run_sink() -> tuple:
    class Sink(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_POST(self):
            self.rfile.read(int(self.headers.get('Content-Length', 0)))
            body = b'{}'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def level4(depth: int = 3) -> None:
    if depth == 0:
        raise ValueError('card declined')
    level4(depth - 1)


def measure(call, calls: int, threads: int) -> list:
    """Per-call durations in ns; with threads > 1, each thread paces its calls."""
    durations: list = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        mine = []
        for _ in range(count):
            start = time.perf_counter_ns()
            call()
            mine.append(time.perf_counter_ns() - start)
            if threads > 1:
                time.sleep(PACE_S)
        with lock:
            durations.extend(mine)

    pool = [threading.Thread(target=worker, args=(calls // threads,)) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return durations


def child(sdk: str, port: int, calls: int) -> None:
    """Run in a subprocess: init one SDK, measure, print JSON."""
    metadata = {'order_id': 1234, 'amount_cents': 4999, 'currency': 'EUR'}
    tags = {'provider': 'stripe', 'region': 'eu-west'}
    if sdk == 'pulsekit':
        import pulsekit_sdk

        pulsekit_sdk.init(endpoint=f'http://127.0.0.1:{port}', api_key='pk_bench', max_queue_size=100_000,
                          max_queue_bytes=1_000_000_000, auto_enabling_integrations=False)  # fmt: skip

        def capture():
            pulsekit_sdk.capture(type='payment.success', message='Order 1234 paid', metadata=metadata, tags=tags)

        def capture_exception():
            try:
                level4()
            except ValueError as exc:
                pulsekit_sdk.capture_exception(exc)

        flush = pulsekit_sdk.flush
    else:
        import sentry_sdk

        sentry_sdk.init(dsn=f'http://public@127.0.0.1:{port}/1', transport_queue_size=100_000,
                        default_integrations=False, auto_enabling_integrations=False)  # fmt: skip

        def capture():
            sentry_sdk.capture_event({'message': 'Order 1234 paid', 'level': 'info', 'tags': tags, 'extra': metadata})

        def capture_exception():
            try:
                level4()
            except ValueError as exc:
                sentry_sdk.capture_exception(exc)

        def flush(timeout):
            sentry_sdk.flush(timeout)

    results = {}
    for name, call in (('capture', capture), ('capture_exception', capture_exception)):
        measure(call, 200, 1)  # warm-up: imports, caches, the first connection
        flush(30)
        for threads in (1, THREADS):
            durations = sorted(measure(call, calls, threads))
            results[f'{name}/{threads}'] = {
                'median_us': statistics.median(durations) / 1000,
                'p99_us': durations[int(len(durations) * 0.99)] / 1000,
            }
            flush(30)
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--calls', type=int, default=4000, help='calls per measurement (default 4000)')
    parser.add_argument('--child', choices=['pulsekit', 'sentry'], help=argparse.SUPPRESS)
    parser.add_argument('--port', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.port, args.calls)
        return

    server, port = run_sink()
    figures = {}
    for sdk in ('pulsekit', 'sentry'):
        command = [sys.executable, __file__, '--child', sdk, '--port', str(port), '--calls', str(args.calls)]
        output = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout
        figures[sdk] = json.loads(output.strip().splitlines()[-1])
    server.shutdown()

    print(f'{"measurement":<28} {"PulseKit med/p99 µs":>22} {"sentry-sdk med/p99 µs":>24} {"ratio (med)":>12}')
    for key in figures['pulsekit']:
        ours, theirs = figures['pulsekit'][key], figures['sentry'][key]
        name, threads = key.split('/')
        label = f'{name}, {threads} thread{"s" if threads != "1" else ""}'
        ratio = ours['median_us'] / theirs['median_us']
        print(f'{label:<28} {ours["median_us"]:>10.1f} / {ours["p99_us"]:<9.1f} '
              f'{theirs["median_us"]:>11.1f} / {theirs["p99_us"]:<10.1f} {ratio:>10.2f}')  # fmt: skip


if __name__ == '__main__':
    main()
