"""The writer thread: group commit semantics that ingestion relies on."""

import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest

from pulsekit.errors import InvalidApiKey
from pulsekit.events.ingest import prepare_event
from pulsekit.models import Event
from pulsekit.projects import create_project
from pulsekit.services import start_services

NOW = datetime(2026, 11, 26, tzinfo=UTC)


@pytest.fixture
def services(settings):
    svc = start_services(settings)
    yield svc
    svc.close()


def test_a_job_for_a_missing_project_fails_alone_in_a_shared_commit(services, settings):
    with services.db.connection_context():
        project = create_project('Shop')
    results: dict[str, object] = {}

    def write(name: str, project_id: int) -> None:
        try:
            results[name] = services.writer.write_sync(project_id, [prepare_event({'message': name}, NOW)], 10)
        except Exception as exc:
            results[name] = exc

    blocker = sqlite3.connect(settings.sqlite_path)
    blocker.execute('BEGIN IMMEDIATE')  # hold the writer so that all three jobs share one commit
    threads = [
        threading.Thread(target=write, args=(name, pid))
        for name, pid in (('first', project.id), ('orphan', 999), ('last', project.id))
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while services.writer.queue_depth < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    commits_before = services.writer.commits
    blocker.rollback()
    for t in threads:
        t.join(10)

    assert isinstance(results['orphan'], InvalidApiKey)  # the API answers 401
    assert isinstance(results['first'], list) and isinstance(results['last'], list)
    assert services.writer.commits - commits_before <= 2  # not one commit per job
    with services.db.connection_context():
        assert sorted(e.message for e in Event.select()) == ['first', 'last']


def test_stop_drains_queued_writes(settings):
    svc = start_services(settings)
    with svc.db.connection_context():
        project = create_project('Shop')
    futures = [svc.writer.run_task(lambda: None) for _ in range(3)]
    ids = svc.writer.write_sync(project.id, [prepare_event({'message': f'm{i}'}, NOW) for i in range(100)])
    svc.close()
    assert all(f.done() for f in futures)
    conn = sqlite3.connect(settings.sqlite_path)
    assert conn.execute('SELECT count(*) FROM events').fetchone()[0] == len(ids) == 100


def test_commits_never_checkpoint_and_the_checkpointer_folds_the_wal_back(settings):
    svc = start_services(settings)
    with svc.db.connection_context():
        project = create_project('Shop')
        assert svc.db.execute_sql('PRAGMA wal_autocheckpoint').fetchone()[0] == 0
    big = 'x' * 4000
    for _ in range(5):
        svc.writer.write_sync(project.id, [prepare_event({'message': big}, NOW) for _ in range(200)])
    wal = settings.sqlite_path.with_name(settings.sqlite_path.name + '-wal')
    assert wal.stat().st_size > 1_000_000  # the commits only appended to the WAL
    svc.close()
    assert not wal.exists() or wal.stat().st_size == 0  # folded into the database file at shutdown
    conn = sqlite3.connect(settings.sqlite_path)
    assert conn.execute('SELECT count(*) FROM events').fetchone()[0] == 1000


def test_a_caller_that_stops_waiting_does_not_stop_the_writer(services, settings):
    with services.db.connection_context():
        project = create_project('Shop')
    blocker = sqlite3.connect(settings.sqlite_path)
    blocker.execute('BEGIN IMMEDIATE')  # keep the task queued while its caller gives up
    abandoned = services.writer.run_task(lambda: 'done')
    assert abandoned.cancel()
    blocker.rollback()
    ids = services.writer.write_sync(project.id, [prepare_event({'message': 'after'}, NOW)], 10)
    assert len(ids) == 1 and services.writer.is_running
