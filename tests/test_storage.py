"""Sustained load and a filling disk: the WAL stays bounded, and a full disk is a clear 507, never a loss."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pulsekit.db import Checkpointer, start_file_writeback
from pulsekit.events.ingest import prepare_event
from pulsekit.projects import create_project
from pulsekit.services import start_services

from .server import ServerProcess, create_project_and_key

pytestmark = pytest.mark.sqlite_only  # SQLite files: the WAL, disk space, online backup

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def test_continuous_writes_with_readers_keep_the_wal_near_its_restart_bound(settings):
    services = start_services(settings)
    # The real checkpointer and writer, with a small bound and a fast round, so a short test crosses it often.
    services.checkpointer.stop()
    services.checkpointer = Checkpointer(
        Path(settings.sqlite_path),
        0.05,
        on_large_wal=services.writer.request_wal_restart,
        wal_restart_bytes=512 * 1024,
        is_restart_pending=lambda: services.writer.is_wal_restart_pending,
    )
    services.checkpointer.start()
    wal = Path(f'{settings.sqlite_path}-wal')
    with services.db.connection_context():
        project = create_project('Load')
    body = 'x' * 2000
    peak_wal, stop = [0], threading.Event()

    def write(worker: int) -> None:
        # Four writers with one batch in flight each: the writer thread is never idle.
        for n in range(100):
            events = [prepare_event({'message': f'{worker}-{n}-{i} {body}'}, NOW) for i in range(100)]
            services.writer.write_sync(project.id, events, 30)

    def read() -> None:
        reader = sqlite3.connect(settings.sqlite_path)
        while not stop.is_set():
            reader.execute('SELECT count(*), max(timestamp) FROM events').fetchall()
            peak_wal[0] = max(peak_wal[0], wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.005)
        reader.close()

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    try:
        reader.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(120)
    finally:
        stop.set()
        reader.join(10)
        services.close()

    database_mb = os.path.getsize(settings.sqlite_path) / 1e6
    # Far more than the bound, and enough that one slow restart (the checkpoint thread starved of the
    # GIL for a moment, at ~80 MB/s of writes) cannot look like growth: 85 MB gave flaky 26-32 MB peaks.
    assert database_mb > 150, 'the test must write far more than the bound'
    assert services.writer.wal_restarts > 0
    # Without the writer's RESTART checkpoints the WAL grew to about the size of all that was written;
    # with them it stays near the bound plus what arrives before the checkpoint thread notices.
    assert peak_wal[0] / 1e6 < 0.3 * database_mb, f'WAL peaked at {peak_wal[0] / 1e6:.1f} MB of {database_mb:.0f} MB'


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int):
    """A tmpfs of size_mb mounted at path: a disk that really fills up (needs root, as the test command)."""
    if os.geteuid() != 0:
        pytest.fail('this test mounts a small tmpfs and must run as root (make test does)')
    path.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size_mb}m', 'tmpfs', str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(['umount', '-l', str(path)], check=False)


@pytest.mark.skipif(sys.platform != 'linux', reason='sync_file_range is Linux only')
def test_the_checkpointer_starts_the_database_files_writeback_in_the_kernel(tmp_path):
    # The restart's sync stays short only if each round really starts the writeback (see
    # db.Checkpointer); a missing libc symbol or a wrong signature would make it a silent no-op.
    path = tmp_path / 'file'
    path.write_bytes(os.urandom(1 << 20))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert start_file_writeback(fd)
    finally:
        os.close(fd)
    assert not start_file_writeback(fd)  # a closed descriptor: the call reached the kernel, which said EBADF


def test_another_process_opening_and_closing_the_database_loses_no_event(settings):
    # A backup or a CLI command opens the database beside the server and closes it again. If the
    # server had dropped its locks on the file (closing any descriptor of it does), that process
    # would think it was the last user, checkpoint and delete the WAL the server still writes to.
    services = start_services(settings)
    services.checkpointer.stop()
    services.checkpointer = Checkpointer(Path(settings.sqlite_path), 0.02)  # rounds while the test runs
    services.checkpointer.start()
    query = 'print(c.execute("SELECT count(*) FROM events").fetchone()[0])'
    count = [sys.executable, '-c', f'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); {query}; c.close()']
    count.append(settings.sqlite_path)
    try:
        with services.db.connection_context():
            project = create_project('Shop')
        for n in range(5):
            events = [prepare_event({'message': f'{n}-{i}'}, NOW) for i in range(20)]
            services.writer.write_sync(project.id, events, 30)
            time.sleep(0.1)  # a few checkpoint rounds
            assert int(subprocess.run(count, capture_output=True, text=True, check=True).stdout) == 20 * (n + 1)
    finally:
        services.close()


def test_a_nearly_full_disk_answers_507_and_every_acknowledged_event_survives(tmp_path):
    with small_disk(tmp_path / 'disk', 48) as disk:
        data_dir = disk / 'data'
        data_dir.mkdir()
        _, key = create_project_and_key(data_dir)
        env = {'PULSEKIT_MIN_FREE_DISK_MB': '16', 'PULSEKIT_RATE_LIMIT_EVENTS_PER_S': '0'}
        acknowledged: list[str] = []
        with ServerProcess(data_dir, env) as server:
            headers = {'X-PulseKit-Key': key['key']}
            refusal = None
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                for _ in range(400):  # ~100 MB offered to a 48 MB disk: the reserve is reached long before
                    events = [{'id': str(uuid.uuid4()), 'message': 'y' * 2500} for _ in range(100)]
                    answer = client.post('/api/v1/events/batch', json={'events': events})
                    if answer.status_code == 202:
                        acknowledged += [event['id'] for event in events]
                        continue
                    refusal = answer
                    break
                health = client.get('/api/v1/health')
            assert refusal is not None, 'the disk never reported full'
            assert refusal.status_code == 507, refusal.text + server.log()[-4000:]
            assert refusal.json()['error']['code'] == 'insufficient_storage'
            assert 'disk is nearly full' in refusal.json()['error']['message']
            assert refusal.headers['Retry-After'] == '60'
            assert health.status_code == 503
            assert health.json()['status'] == 'degraded' and 'PULSEKIT_MIN_FREE_DISK_MB' in health.json()['reason']
            assert health.json()['disk_free_bytes'] < 16_000_000
            assert server.terminate() in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown
        assert 'Traceback' not in server.log()

        database = sqlite3.connect(data_dir / 'pulsekit.db')
        stored = {row[0] for row in database.execute('SELECT lower(id) FROM events')}
        database.close()
        assert acknowledged and {event_id.replace('-', '') for event_id in acknowledged} <= stored


def test_a_write_that_meets_a_full_disk_is_logged_in_one_clear_line(tmp_path, caplog):
    # Health and the 507 answers already tell the operator; a traceback per failed commit (say, the
    # key-use flush or the alert watermark at shutdown) only buries the one line that matters.
    from pulsekit.config import Settings
    from pulsekit.errors import InsufficientStorage

    with small_disk(tmp_path / 'disk', 8) as disk:
        services = start_services(Settings(data_dir=disk / 'data'))
        ballast = disk / 'ballast'
        try:
            with open(ballast, 'wb') as out, contextlib.suppress(OSError):  # up to the last byte: ENOSPC
                while True:
                    out.write(b'\0' * 65536)
                    out.flush()
            grow = services.writer.run_task(
                lambda: services.db.execute_sql('CREATE TABLE ballast AS SELECT randomblob(4000000) AS b')
            )
            with pytest.raises(InsufficientStorage):
                grow.result(30)
        finally:
            ballast.unlink()
            services.close()
    failures = [r for r in caplog.records if 'writer task failed' in r.getMessage()]
    assert failures and 'the disk is full' in failures[0].getMessage()
    assert all(r.exc_info is None for r in failures)
