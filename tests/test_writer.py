"""The writer thread: group commit semantics that ingestion relies on."""

import sqlite3
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from pulsekit.errors import InvalidApiKey
from pulsekit.events.event_store import INSERT_CHUNK_ROWS, padded_rows
from pulsekit.events.ingest import prepare_event
from pulsekit.events.issues import set_issue_status
from pulsekit.models import Event, Issue
from pulsekit.projects import create_project
from pulsekit.services import start_services

from .databases import stored_event_ids, writer_held

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

    threads = [
        threading.Thread(target=write, args=(name, pid))
        for name, pid in (('first', project.id), ('orphan', 999), ('last', project.id))
    ]
    with writer_held(services.writer):  # so that all three jobs share one commit
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while services.writer.queue_depth < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        commits_before = services.writer.commits
    for t in threads:
        t.join(10)

    assert isinstance(results['orphan'], InvalidApiKey)  # the API answers 401
    assert isinstance(results['first'], list) and isinstance(results['last'], list)
    assert services.writer.commits - commits_before <= 2  # not one commit per job
    with services.db.connection_context():
        assert sorted(e.message for e in Event.select()) == ['first', 'last']


def test_events_queued_before_a_task_are_answered_without_waiting_for_it(services):
    # Retention deletes in writer tasks all the time under load: ingest must not wait on them.
    with services.db.connection_context():
        project = create_project('Shop')
    results: dict[str, object] = {}
    task_release = threading.Event()

    def write() -> None:
        results['ids'] = services.writer.write_sync(project.id, [prepare_event({'message': 'first'}, NOW)], 10)

    writing = threading.Thread(target=write)
    with writer_held(services.writer):
        writing.start()
        deadline = time.monotonic() + 5
        while services.writer.queue_depth < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        slow_task = services.writer.run_task(lambda: task_release.wait(30))
    writing.join(5)
    try:
        assert isinstance(results.get('ids'), list)  # answered…
        assert not slow_task.done()  # …while the task queued after it still runs
    finally:
        task_release.set()
    slow_task.result(10)


@pytest.mark.sqlite_only
def test_requests_arriving_close_together_share_one_commit(services):
    # A commit writes ~30 pages whatever it holds: at a moderate rate, grouping saves I/O.
    services.writer.group_linger_s = 0.5  # wide, so the test does not depend on the machine's speed
    with services.db.connection_context():
        project = create_project('Shop')
    commits_before = services.writer.commits
    first = threading.Thread(
        target=services.writer.write_sync, args=(project.id, [prepare_event({'message': 'first'}, NOW)], 10)
    )
    first.start()
    time.sleep(0.1)
    services.writer.write_sync(project.id, [prepare_event({'message': 'second'}, NOW)], 10)
    first.join(10)
    assert services.writer.commits - commits_before == 1
    assert len(stored_event_ids(services.settings.data_dir)) == 2


@pytest.mark.sqlite_only
def test_full_groups_tasks_and_shutdown_never_wait_for_company(settings):
    svc = start_services(settings)
    svc.writer.group_linger_s = 60.0
    with svc.db.connection_context():
        project = create_project('Shop')
    started = time.monotonic()
    svc.writer.write_sync(project.id, [prepare_event({'message': f'm{i}'}, NOW) for i in range(40)], 10)
    assert svc.writer.run_task(lambda: 'done').result(10) == 'done'
    lone = threading.Thread(target=svc.writer.write_sync, args=(project.id, [prepare_event({'message': 'x'}, NOW)]))
    lone.start()
    time.sleep(0.1)
    svc.close()  # stop drains the lone event at once
    lone.join(10)
    assert not lone.is_alive()
    assert time.monotonic() - started < 30
    assert len(stored_event_ids(settings.data_dir)) == 41


def test_stop_drains_queued_writes(settings):
    svc = start_services(settings)
    with svc.db.connection_context():
        project = create_project('Shop')
    futures = [svc.writer.run_task(lambda: None) for _ in range(3)]
    ids = svc.writer.write_sync(project.id, [prepare_event({'message': f'm{i}'}, NOW) for i in range(100)])
    svc.close()
    assert all(f.done() for f in futures)
    assert len(stored_event_ids(settings.data_dir)) == len(ids) == 100


@pytest.mark.sqlite_only
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
    with writer_held(services.writer):  # keep the task queued while its caller gives up
        abandoned = services.writer.run_task(lambda: 'done')
        assert abandoned.cancel()
    ids = services.writer.write_sync(project.id, [prepare_event({'message': 'after'}, NOW)], 10)
    assert len(ids) == 1 and services.writer.is_running


def _error(event_id: str | None = None) -> dict:
    body = {'exception': {'type': 'KeyError', 'value': "'total'"}}
    return prepare_event({**body, 'id': event_id} if event_id else body, NOW)


def test_a_retried_event_is_stored_counted_and_announced_once(services):
    with services.db.connection_context():
        project = create_project('Shop')
    announced: list[str] = []
    services.bus.subscribe(lambda summary: announced.extend(e['id'] for e in summary.events))
    first = str(uuid.uuid4())
    services.writer.write_sync(project.id, [_error(first)])  # a new issue
    second = str(uuid.uuid4())
    services.writer.write_sync(project.id, [_error(second)])  # a known issue: the one-statement commit
    third = str(uuid.uuid4())
    services.writer.write_sync(project.id, [_error(second), _error(third)])  # a client retry, and a new event

    assert announced == [first, second, third]
    with services.db.connection_context():
        [issue] = Issue.select()
        assert issue.event_count == 3
        assert Event.select().count() == 3
        hourly = services.db.execute_sql('SELECT sum(count) FROM event_counts_hourly').fetchone()[0]
        assert hourly == 3


def test_a_large_batch_retried_with_new_events_is_stored_and_counted_once(services):
    # Large enough for PostgreSQL's COPY path, which has no ON CONFLICT and must fall back.
    with services.db.connection_context():
        project = create_project('Shop')
    ids = [str(uuid.uuid4()) for _ in range(300)]
    services.writer.write_sync(project.id, [_error(i) for i in ids[:200]])
    assert services.writer.write_sync(project.id, [_error(i) for i in ids]) == ids  # 200 retried, 100 new
    with services.db.connection_context():
        assert Event.select().count() == 300
        [issue] = Issue.select()
        assert issue.event_count == 300
        assert services.db.execute_sql('SELECT sum(count) FROM issue_counts_hourly').fetchone()[0] == 300


def test_groups_of_every_size_store_exactly_their_events(services):
    # SQLite pads the INSERT to a few statement sizes (each size stays compiled in the statement cache):
    # the padding rows must never be stored, counted or announced, on either side of each size.
    with services.db.connection_context():
        project = create_project('Shop')
    announced: list[str] = []
    services.bus.subscribe(lambda summary: announced.extend(e['id'] for e in summary.events))
    services.writer.write_sync(project.id, [_error()])  # the issue exists: the one-statement commit from here on
    sent = announced[:]
    for size in (1, 2, 16, 17, 19, 21, 99, 100, 101, 257, 499, 500, 501):
        ids = [str(uuid.uuid4()) for _ in range(size)]
        assert services.writer.write_sync(project.id, [_error(i) for i in ids]) == ids
        sent += ids

    assert announced == sent
    with services.db.connection_context():
        assert sorted(str(event.id) for event in Event.select(Event.id)) == sorted(sent)
        [issue] = Issue.select()
        assert issue.event_count == len(sent)
        assert services.db.execute_sql('SELECT sum(count) FROM event_counts_hourly').fetchone()[0] == len(sent)


def test_statement_sizes_hold_every_group_with_little_padding():
    # The statement cache keeps one compiled INSERT per size: few sizes, and never more than 28 % padding.
    sizes = {padded_rows(count) for count in range(1, INSERT_CHUNK_ROWS + 1)}
    assert len(sizes) <= 32
    assert all(count <= padded_rows(count) <= count * 1.28 for count in range(1, INSERT_CHUNK_ROWS + 1))


def test_an_issue_resolved_meanwhile_comes_back_as_a_regression(services):
    with services.db.connection_context():
        project = create_project('Shop')
    regressed: list[int] = []
    services.bus.subscribe(lambda summary: regressed.extend(summary.regressed_issue_ids))
    services.writer.write_sync(project.id, [_error()])
    services.writer.write_sync(project.id, [_error()])  # the writer now knows the issue as open
    with services.db.connection_context():
        [issue] = Issue.select()
    services.writer.run_task(lambda: set_issue_status([issue.id], 'resolve')).result(10)
    services.writer.write_sync(project.id, [_error()])
    services.writer.write_sync(project.id, [_error()])  # already reopened: not a second regression

    assert regressed == [issue.id]
    with services.db.connection_context():
        issue = Issue.get_by_id(issue.id)
        assert (issue.status, issue.is_regression, issue.resolved_at, issue.event_count) == ('open', True, None, 4)


def test_counters_and_rollups_equal_what_the_events_say_after_a_mixed_workload(services):
    with services.db.connection_context():
        shop, api = create_project('Shop'), create_project('API')
    sent: list[dict] = []

    def event(i: int) -> dict:
        body = {
            'id': str(uuid.uuid4()),
            'level': ('info', 'warning', 'error', 'fatal')[i % 4],
            'message': f'message {i % 7}',
            'tags': {'region': f'r{i % 3}', 'tier': 'gold'} if i % 2 else {},
            'timestamp': 1764158400 - (i % 5) * 3600,  # five different hours
        }
        if i % 3:
            body['exception'] = {'type': f'Error{i % 4}', 'value': 'boom'}
        sent.append(body)
        return body

    sent_by: dict[int, list[dict]] = {shop.id: [], api.id: []}
    for round_ in range(6):
        for project in (shop, api):
            retried = sent_by[project.id][-2:] if round_ >= 2 else []  # a client retry beside new events
            fresh = [event(round_ * 10 + i) for i in range(1 if round_ % 2 else 12)]
            sent_by[project.id] += fresh
            services.writer.write_sync(project.id, [prepare_event(b, NOW) for b in retried + fresh])
    with services.db.connection_context():
        sql = services.db.execute_sql
        assert sql('SELECT count(*) FROM events').fetchone()[0] == len(sent)
        by_events = sql(
            'SELECT project_id, timestamp / 3600000 * 3600000, level, count(*) FROM events GROUP BY 1, 2, 3'
        ).fetchall()
        assert sorted(by_events) == sorted(sql('SELECT project_id, hour, level, count FROM event_counts_hourly'))
        by_tags = Counter(
            (project_id, timestamp // 3600000 * 3600000, key, value)
            for project_id, timestamp, tags in sql('SELECT project_id, timestamp, tags FROM events').fetchall()
            for key, value in orjson.loads(tags or '{}').items()
        )
        assert sorted((*key, n) for key, n in by_tags.items()) == sorted(
            sql('SELECT project_id, hour, key, value, count FROM tag_counts_hourly')
        )
        issues = sql(
            'SELECT i.event_count, i.first_seen, i.last_seen, count(e.seq), min(e.timestamp), max(e.timestamp) '
            'FROM issues i JOIN events e ON e.issue_id = i.id GROUP BY i.id'
        ).fetchall()
        assert issues and all(row[:3] == row[3:] for row in issues)
        by_issue_hour = sql(
            'SELECT issue_id, timestamp / 3600000 * 3600000, count(*) FROM events WHERE issue_id IS NOT NULL '
            'GROUP BY 1, 2'
        ).fetchall()
        assert sorted(by_issue_hour) == sorted(sql('SELECT issue_id, hour, count FROM issue_counts_hourly'))
