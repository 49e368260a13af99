"""The real server as a subprocess: durability on SIGKILL, clean SIGTERM, limits over real HTTP."""

import contextlib
import gzip
import socket
import threading
import time
import uuid

import httpx
import orjson

from .databases import stored_event_ids
from .server import ServerProcess, create_project_and_key

SENDERS = 4
MAX_SEND_S = 20.0


def batch(n: int) -> dict:
    return {
        'events': [
            {'id': str(uuid.uuid4()), 'level': 'error', 'message': f'crash {i}', 'exception': {'type': 'RuntimeError'}}
            for i in range(n)
        ]
    }


def stored_ids(data_dir) -> set[str]:
    return stored_event_ids(data_dir)


def send_until(server: ServerProcess, key: str, stop: threading.Event, acked: list, lock: threading.Lock) -> None:
    """Send 20-event batches until told to stop or the server goes away; record acknowledged ids."""
    deadline = time.monotonic() + MAX_SEND_S
    with httpx.Client(base_url=server.url, headers={'X-PulseKit-Key': key}, timeout=10) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            body = batch(20)
            try:
                response = client.post('/api/v1/events/batch', json=body)
            except httpx.HTTPError:
                return
            if response.status_code == 202:
                with lock:
                    acked.extend(response.json()['ids'])


@contextlib.contextmanager
def under_load(server: ServerProcess, key: str, acked_at_least: int):
    """Senders post batches until the block ends; yields once `acked_at_least` events were acknowledged."""
    acked: list[str] = []
    lock, stop = threading.Lock(), threading.Event()
    threads = [threading.Thread(target=send_until, args=(server, key, stop, acked, lock)) for _ in range(SENDERS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + MAX_SEND_S
        while len(acked) < acked_at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        yield acked
    finally:
        stop.set()
        server.kill()
        for t in threads:
            t.join(15)


def test_every_acknowledged_event_survives_kill_9(tmp_path):
    data_dir = tmp_path / 'data'
    _, key = create_project_and_key(data_dir)
    server = ServerProcess(data_dir).start()
    with under_load(server, key['key'], acked_at_least=2000) as acked:
        server.kill()  # mid-stream: requests are in flight and the last 202s just went out
    assert len(acked) >= 2000

    with ServerProcess(data_dir) as restarted:
        stored = stored_ids(data_dir)
        missing = set(acked) - stored
        assert not missing, f'{len(missing)} acknowledged events were lost'
        total = 0
        with httpx.Client(base_url=restarted.url, headers={'X-PulseKit-Key': key['key']}) as client:
            cursor = None
            for _ in range(1000):
                params = {'limit': 200} | ({'cursor': cursor} if cursor else {})
                body = client.get('/api/v1/events', params=params).json()
                total += len(body['events'])
                cursor = body['next_cursor']
                if not cursor:
                    break
        assert total == len(stored)  # the read API sees them all after the restart


def test_sigterm_drains_the_writer_and_exits_cleanly(tmp_path):
    data_dir = tmp_path / 'data'
    _, key = create_project_and_key(data_dir)
    server = ServerProcess(data_dir).start()
    with under_load(server, key['key'], acked_at_least=500) as acked:
        exit_code = server.terminate()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is the signal's.
    assert exit_code in (0, -15)
    assert acked and set(acked) <= stored_ids(data_dir)
    log = server.log()
    assert 'shutdown complete: writer drained (0 events queued)' in log
    assert 'Traceback' not in log and 'did not drain' not in log


def raw_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
        return b''.join(chunks)


def test_limits_hold_over_real_http(tmp_path):
    data_dir = tmp_path / 'data'
    _, key = create_project_and_key(data_dir)
    with ServerProcess(data_dir) as server:
        headers = {'X-PulseKit-Key': key['key'], 'Content-Type': 'application/json'}

        def chunks():
            piece = b'x' * 65536
            yield b'{"message": "'
            for _ in range(100):  # 6.5 MB without a Content-Length
                yield piece
            yield b'"}'

        response = httpx.post(f'{server.url}/api/v1/events', content=chunks(), headers=headers, timeout=30)
        assert response.status_code == 413
        assert response.json()['error']['code'] == 'payload_too_large'

        declared = raw_http(
            server.port,
            b'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
            b'X-PulseKit-Key: ' + key['key'].encode() + b'\r\nContent-Length: 50000000\r\n\r\n{',
        )
        assert declared.startswith(b'HTTP/1.1 413')

        zipped = gzip.compress(orjson.dumps({'message': 'compressed', 'level': 'warning'}))
        response = httpx.post(
            f'{server.url}/api/v1/events', content=zipped, headers={**headers, 'Content-Encoding': 'gzip'}
        )
        assert response.status_code == 202
        response = httpx.get(f'{server.url}/api/nothing-here')
        assert response.status_code == 404 and response.headers['content-type'] == 'application/json'
        assert httpx.get(f'{server.url}/api/v1/events').status_code == 401
    assert len(stored_ids(data_dir)) == 1
