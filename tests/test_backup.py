"""`pulsekit backup` while the server ingests, and `pulsekit restore` with the server stopped."""

import json
import sqlite3
import stat
import threading
import time
import uuid

import httpx
import pytest

from .server import ServerProcess, create_project_and_key, pulsekit_cli

pytestmark = pytest.mark.sqlite_only  # SQLite files: the WAL, disk space, online backup

MAX_SEND_S = 20.0


def send_batches(url: str, key: str, stop: threading.Event, acked: list[str]) -> None:
    """Post 20-event batches until told to stop (bounded in time); record acknowledged ids."""
    deadline = time.monotonic() + MAX_SEND_S
    with httpx.Client(base_url=url, headers={'X-PulseKit-Key': key}, timeout=10) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            events = [{'id': str(uuid.uuid4()), 'level': 'error', 'message': f'boom {i % 3}'} for i in range(20)]
            response = client.post('/api/v1/events/batch', json={'events': events})
            assert response.status_code == 202, response.text
            acked.extend(response.json()['ids'])


def event_ids(db_path) -> set[str]:
    conn = sqlite3.connect(db_path)
    try:
        return {str(uuid.UUID(row[0])) for row in conn.execute('SELECT id FROM events')}
    finally:
        conn.close()


def read_back_ids(url: str, key: str) -> set[str]:
    ids, cursor = set(), None
    with httpx.Client(base_url=url, headers={'X-PulseKit-Key': key}, timeout=10) as client:
        while True:
            page = client.get('/api/v1/events', params={'limit': 100, **({'cursor': cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            ids |= {e['id'] for e in page.json()['events']}
            cursor = page.json()['next_cursor']
            if not cursor:
                return ids


def test_backup_under_ingest_is_consistent_and_restore_brings_it_back(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    _, key = create_project_and_key(data)
    backup = tmp_path / 'backup.db'
    server = ServerProcess(data).start()
    try:
        acked: list[str] = []
        stop = threading.Event()
        sender = threading.Thread(target=send_batches, args=(server.url, key['key'], stop, acked))
        sender.start()
        try:
            while len(acked) < 400 and sender.is_alive():
                time.sleep(0.01)
            acked_before = set(acked)
            result = pulsekit_cli(data, 'backup', str(backup), '--json', check=False)
            while len(acked) < len(acked_before) + 200 and sender.is_alive():
                time.sleep(0.01)  # the server keeps taking events after the copy
        finally:
            stop.set()
            sender.join(30)
        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # key and password hashes: owner only

        # The copy is one self-contained file, taken at one commit: every event acknowledged before the
        # backup started is in it, and the counters the triggers keep agree with the rows.
        conn = sqlite3.connect(backup)
        assert conn.execute('PRAGMA journal_mode').fetchone()[0] == 'delete'
        assert conn.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        assert (
            conn.execute('SELECT SUM(event_count) FROM issues').fetchone()[0]
            == conn.execute('SELECT COUNT(*) FROM events').fetchone()[0]
        )
        conn.close()
        in_backup = event_ids(backup)
        assert acked_before <= in_backup
        assert json.loads(result.stdout)['events'] == len(in_backup)

        refused = pulsekit_cli(data, 'restore', str(backup), check=False)
        assert refused.returncode == 1
        assert 'stop the server first' in refused.stderr
        assert server.terminate() in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown
    finally:
        server.kill()

    everything = event_ids(data / 'pulsekit.db')
    assert set(acked) <= everything and len(everything) > len(in_backup)
    restored = pulsekit_cli(data, 'restore', str(backup), '--json')
    previous = json.loads(restored.stdout)['previous']
    assert event_ids(previous) == everything  # the replaced database is kept, whole

    with ServerProcess(data) as again:
        assert read_back_ids(again.url, key['key']) == in_backup
        response = httpx.post(
            f'{again.url}/api/v1/events', headers={'X-PulseKit-Key': key['key']}, json={'message': 'after restore'}
        )
        assert response.status_code == 202  # the restored database takes writes


def test_backup_into_a_folder_writes_a_dated_file(tmp_path):
    data = tmp_path / 'data'
    create_project_and_key(data)
    folder = tmp_path / 'backups'
    folder.mkdir()
    out = json.loads(pulsekit_cli(data, 'backup', str(folder), '--json').stdout)
    assert out['path'].startswith(str(folder / 'pulsekit-')) and out['path'].endswith('.db')
    assert [p.name for p in folder.iterdir()] == [out['path'].rsplit('/', 1)[1]]  # no partial file left


def test_restore_refuses_a_file_that_is_not_a_pulsekit_backup(tmp_path):
    data = tmp_path / 'data'
    create_project_and_key(data)
    before = event_ids(data / 'pulsekit.db')
    junk = tmp_path / 'junk.db'
    junk.write_bytes(b'not a database' * 100)
    other = tmp_path / 'other.db'
    sqlite3.connect(other).execute('CREATE TABLE t (x)').connection.close()
    for path, message in ((junk, 'not a readable SQLite database'), (other, 'not a PulseKit database')):
        result = pulsekit_cli(data, 'restore', str(path), check=False)
        assert result.returncode == 1 and message in result.stderr, result.stderr
    assert pulsekit_cli(data, 'restore', str(tmp_path / 'missing.db'), check=False).returncode == 1
    assert event_ids(data / 'pulsekit.db') == before
