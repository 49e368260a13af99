"""Clients without a key, or too slow, cannot take the server's memory or hold its connections
(a real `pulsekit serve`, its memory read from /proc)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from .server import ServerProcess, create_project_and_key

UPLOAD_BYTES = 5_000_000
UPLOADS = 100
MAX_RSS_GROWTH_BYTES = 50 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
    raise AssertionError('no VmRSS in /proc/<pid>/status')


def upload_start(kind: str, project_id: int) -> bytes:
    """Request head and the first body bytes of a 5 MB upload without a usable key."""
    envelope_header = orjson.dumps({'event_id': uuid.uuid4().hex}) + b'\n'
    wrong_key = 'pk_' + 'x' * 32
    wrong_dsn = orjson.dumps({'dsn': f'http://{wrong_key}@127.0.0.1/{project_id}'}) + b'\n'
    extra_header = f'X-Sentry-Auth: Sentry sentry_key={wrong_key}\r\n' if kind == 'wrong key' else ''
    path, first = {
        # the key could be in the envelope header: only that line may be read, and it has none
        'envelope': (f'/api/{project_id}/envelope/', envelope_header),
        # a first line that never ends: read up to the envelope header limit, not further
        'endless header': (f'/api/{project_id}/envelope/', b'{"event_id": "' + b'a' * 70_000),
        # the key can only be in the headers or the query string: nothing of the body may be read
        'store': (f'/api/{project_id}/store/', b'{"message": "'),
        'native': ('/api/v1/events', b'{"message": "'),
        # a key that does not exist, in a header (checked before the body) or in the envelope header
        'wrong key': (f'/api/{project_id}/envelope/', envelope_header),
        'wrong dsn': (f'/api/{project_id}/envelope/', wrong_dsn),
    }[kind]
    head = f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra_header}'
    return f'{head}Content-Length: {UPLOAD_BYTES}\r\n\r\n'.encode() + first


async def unfinished_upload(port: int, start: bytes) -> bytes:
    """Send a request and as much of its 5 MB body as the server takes (never all of it); return the answer."""
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    try:
        writer.write(start)
        chunk = b'x' * 256 * 1024
        sent = len(start)
        while sent < UPLOAD_BYTES - len(chunk):  # the last bytes are never sent
            writer.write(chunk)
            sent += len(chunk)
            try:
                await asyncio.wait_for(writer.drain(), 2)
            except (TimeoutError, ConnectionError):
                break
        try:
            return await asyncio.wait_for(reader.read(4096), 15)
        except (TimeoutError, ConnectionError):
            return b''
    finally:
        writer.transport.abort()


async def sample_peak_rss(pid: int, done: asyncio.Event) -> int:
    peak = rss_bytes(pid)
    while not done.is_set():
        peak = max(peak, rss_bytes(pid))
        await asyncio.sleep(0.05)
    return max(peak, rss_bytes(pid))


async def upload_all(port: int, pid: int, starts: list[bytes]) -> tuple[list[bytes], int]:
    done = asyncio.Event()
    sampler = asyncio.create_task(sample_peak_rss(pid, done))
    answers = await asyncio.gather(*(unfinished_upload(port, start) for start in starts))
    done.set()
    return answers, await sampler


def test_unfinished_uploads_without_a_key_take_no_memory(tmp_path):
    data_dir = tmp_path / 'data'
    project, key = create_project_and_key(data_dir)
    with ServerProcess(data_dir) as server:
        warm = httpx.post(
            f'{server.url}/api/v1/events', json={'message': 'warm'}, headers={'X-PulseKit-Key': key['key']}
        )
        assert warm.status_code == 202
        kinds = ['envelope', 'endless header', 'store', 'native', 'wrong key', 'wrong dsn']
        starts = [upload_start(kinds[i % len(kinds)], project['id']) for i in range(UPLOADS)]
        before = rss_bytes(server.proc.pid)
        answers, peak = asyncio.run(upload_all(server.port, server.proc.pid, starts))
        statuses = [answer.split(b' ', 2)[1] if answer.startswith(b'HTTP/1.1') else answer[:40] for answer in answers]
        print(f'server RSS grew by {(peak - before) / 1e6:.1f} MB')
        assert peak - before < MAX_RSS_GROWTH_BYTES, f'RSS grew by {(peak - before) / 1e6:.0f} MB'
        assert statuses == [b'401'] * UPLOADS
        assert httpx.get(f'{server.url}/api/v1/health').status_code == 200


def read_answer(sock: socket.socket, timeout_s: float) -> bytes:
    """Everything the server sends until it closes the connection (or the timeout passes)."""
    sock.settimeout(timeout_s)
    received = b''
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        if not data:
            return received
        received += data
    raise AssertionError(f'the connection was still open after {timeout_s} s; received {received[:200]!r}')


@pytest.fixture(scope='module')
def strict_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp('strict')
    _, key = create_project_and_key(data_dir)
    env = {'PULSEKIT_HEADER_TIMEOUT_S': '1', 'PULSEKIT_BODY_TIMEOUT_S': '1'}
    with ServerProcess(data_dir, env) as server:
        server.key = key['key']
        yield server


def test_a_client_that_stalls_in_its_headers_gets_408_and_is_closed(strict_server):
    with socket.create_connection(('127.0.0.1', strict_server.port)) as sock:
        sock.sendall(b'POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n')
        answer = read_answer(sock, 5)
    assert answer.startswith(b'HTTP/1.1 408')


def test_a_client_that_connects_and_sends_nothing_is_closed(strict_server):
    with socket.create_connection(('127.0.0.1', strict_server.port)) as sock:
        assert read_answer(sock, 5).startswith(b'HTTP/1.1 408')


def test_a_client_that_stalls_in_its_body_gets_408_and_nothing_is_stored(strict_server):
    marker = uuid.uuid4().hex
    body = orjson.dumps({'message': marker})
    head = (
        f'POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-PulseKit-Key: {strict_server.key}\r\n'
        f'Content-Type: application/json\r\nContent-Length: {len(body) + 10}\r\n\r\n'
    )
    with socket.create_connection(('127.0.0.1', strict_server.port)) as sock:
        sock.sendall(head.encode() + body)
        answer = read_answer(sock, 5)
    assert answer.startswith(b'HTTP/1.1 408')
    assert b'request_timeout' in answer
    events = httpx.get(
        f'{strict_server.url}/api/v1/events', params={'q': marker}, headers={'X-PulseKit-Key': strict_server.key}
    )
    assert events.json()['events'] == []


def test_a_kept_alive_connection_serves_requests_before_and_after_a_pause(strict_server):
    # The deadlines are per request: a keep-alive connection that idles (below the keep-alive timeout)
    # and then sends a whole request in time is served.
    with httpx.Client(base_url=strict_server.url) as client:
        assert client.get('/api/v1/health').status_code == 200
        time.sleep(0.5)
        assert client.get('/api/v1/health').status_code == 200


def test_connections_past_the_limit_are_answered_503(tmp_path):
    # Default deadlines (10 s for headers): the idle connections hold their places while the test runs.
    with ServerProcess(tmp_path / 'data', {'PULSEKIT_MAX_CONNECTIONS': '10'}) as server:
        idle = [socket.create_connection(('127.0.0.1', server.port)) for _ in range(10)]
        try:
            time.sleep(0.2)
            response = httpx.get(f'{server.url}/api/v1/health')
            assert response.status_code == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(f'{server.url}/api/v1/health').status_code == 200
