"""A real HTTP server on 127.0.0.1 that records what the SDK sends, and answers from a script."""

from __future__ import annotations

import collections
import gzip
import http.server
import json
import sys
import threading
import time
from pathlib import Path

import pytest

import pulsekit_sdk
from pulsekit_sdk import Client, Options

SDK_DIR = Path(__file__).resolve().parents[1]
# The vector interpreter and matcher are shared with the conformance runner; import them from there.
sys.path[:0] = [str(SDK_DIR / 'conformance'), str(SDK_DIR.parent / 'conformance')]

API_KEY = 'pk_test_0123456789'


class Recorded:
    def __init__(self, method: str, path: str, headers: dict, raw_body: bytes):
        self.method = method
        self.path = path
        self.headers = headers
        self.raw_body = raw_body
        body = gzip.decompress(raw_body) if headers.get('Content-Encoding') == 'gzip' else raw_body
        self.body = json.loads(body)


class CapturingServer:
    """Records every request; answers each with the next scripted (status, headers) or 202."""

    def __init__(self):
        self.requests: list = []
        self.connections = 0  # TCP connections accepted
        self.script: collections.deque = collections.deque()
        self._lock = threading.Condition()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'  # keep-alive, as a real server

            def setup(self):
                super().setup()
                with server._lock:
                    server.connections += 1

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                record = Recorded('POST', self.path, dict(self.headers.items()), raw)
                with server._lock:
                    server.requests.append(record)
                    status, headers = server.script.popleft() if server.script else (202, {})
                    server._lock.notify_all()
                if status == 202:
                    answer = {'ids': [event['id'] for event in record.body['events']]}
                else:
                    answer = {'error': {'code': f'status_{status}', 'message': 'scripted', 'field': None}}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self._httpd.server_address[1]}'
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def respond(self, status: int, headers: dict | None = None, times: int = 1) -> None:
        """Answer the next `times` requests with status (and headers) instead of 202."""
        for _ in range(times):
            self.script.append((status, headers or {}))

    def events(self) -> list:
        return [event for request in self.requests for event in request.body['events']]

    def wait_for_requests(self, count: int, timeout_s: float = 5.0) -> list:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while len(self.requests) < count and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return list(self.requests)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server():
    capturing = CapturingServer()
    yield capturing
    capturing.close()


class RecordedSleeps:
    """Stands in for the worker's sleep: records each requested delay and returns at once."""

    def __init__(self):
        self.delays: list = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps():
    return RecordedSleeps()


@pytest.fixture
def make_client(server, sleeps):
    """Build a Client on the capturing server; batches leave only when full or flushed."""
    clients = []

    def build(sample=None, jitter=None, sleep=sleeps, **options):
        settings = {'endpoint': server.url, 'api_key': API_KEY, 'batch_interval_s': 60.0, **options}
        client = Client(Options.build(**settings), sleep=sleep, jitter=jitter, sample=sample)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close(1.0)


@pytest.fixture
def global_client(server):
    """pulsekit_sdk.init() on the capturing server, closed (hooks removed) after the test."""
    clients = []

    def start(**options):
        settings = {'endpoint': server.url, 'api_key': API_KEY, 'batch_interval_s': 60.0, **options}
        client = pulsekit_sdk.init(**settings)
        clients.append(client)
        return client

    yield start
    pulsekit_sdk.close(1.0)
