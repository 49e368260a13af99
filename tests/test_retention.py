from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pulsekit import retention
from pulsekit.config import Settings
from pulsekit.events import search_index
from pulsekit.instance_settings import default_retention_days, set_setting
from pulsekit.models import Event, EventCountHourly, Issue, IssueCountHourly, TagCountHourly, to_millis
from pulsekit.projects import create_project
from pulsekit.retention import FREE_PAGES_KEPT, prune, writer_runner

from .projects_support import migrated_db, store

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _at(days_ago: float) -> float:
    return (NOW - timedelta(days=days_ago)).timestamp()


def _error(kind: str, days_ago: float, **extra) -> dict:
    return {'level': 'error', 'exception': {'type': kind, 'value': 'boom'}, 'timestamp': _at(days_ago), **extra}


@pytest.fixture
def env(tmp_path):
    with migrated_db(tmp_path) as (db, writer):
        yield db, writer


def test_retention_deletes_exactly_the_old_events_and_keeps_counters_right(env):
    _db, writer = env
    set_setting('default_retention_days', 10)
    short = create_project('Short', retention_days=7)
    default = create_project('Default')
    old_short = store(writer, short.id, [_error('Kept', 8), _error('Kept', 9), _error('Gone', 8)], NOW)
    new_short = store(writer, short.id, [_error('Kept', 6), _error('Kept', 1)], NOW)
    custom_old = store(
        writer, short.id, [{'type': 'payment.success', 'message': 'old paid', 'timestamp': _at(30)}], NOW
    )
    resolved_old = store(writer, short.id, [_error('Resolved', 20), _error('Ignored', 20)], NOW)
    # 8 days old is inside the default project's 10 days, 11 is outside
    default_new = store(writer, default.id, [_error('Kept', 8)], NOW)
    default_old = store(writer, default.id, [_error('Kept', 11)], NOW)
    Issue.update(status='resolved').where(Issue.title.startswith('Resolved')).execute()
    Issue.update(status='ignored').where(Issue.title.startswith('Ignored')).execute()

    report = prune(
        writer_runner(writer), default_retention_days(Settings()), now=NOW, chunk_rows=2
    )  # small chunks: several tasks per project

    remaining = {str(e.id) for e in Event.select()}
    assert remaining == set(new_short + default_new)
    assert not remaining & set(old_short + custom_old + resolved_old + default_old)
    assert report.events_deleted == 7
    assert report.projects == {'short': 6, 'default': 1}
    issues = {(i.project_id, i.title.split(':')[0]): i for i in Issue.select()}
    assert issues[(short.id, 'Kept')].event_count == 2
    assert issues[(default.id, 'Kept')].event_count == 1
    # an open issue left without events is gone; resolved/ignored ones stay with 0 to keep the decision
    assert (short.id, 'Gone') not in issues
    assert issues[(short.id, 'Resolved')].event_count == 0
    assert issues[(short.id, 'Resolved')].status == 'resolved'
    assert issues[(short.id, 'Ignored')].event_count == 0
    assert report.issues_deleted == 1


@pytest.mark.sqlite_only  # FTS5 table / auto_vacuum: PostgreSQL's index is on the events themselves
def test_retention_keeps_the_full_text_index_in_step(env):
    db, writer = env
    project = create_project('Search')
    store(writer, project.id, [{'message': 'ancient zebra', 'timestamp': _at(40)}], NOW)
    store(writer, project.id, [{'message': 'recent zebra', 'timestamp': _at(1)}], NOW)
    writer.run_task(lambda: search_index.index_next_chunk(db)).result(10)
    assert search_index.events_not_indexed(db) == 0  # both in the index, so retention must take one out

    prune(writer_runner(writer), 30, now=NOW)

    hits = db.execute_sql("SELECT rowid FROM events_fts WHERE events_fts MATCH 'zebra'").fetchall()
    assert [h[0] for h in hits] == [e.seq for e in Event.select()]
    assert db.execute_sql("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'ancient'").fetchone()[0] == 0
    db.execute_sql("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")


def test_retention_with_nothing_old_deletes_nothing(env):
    _db, writer = env
    project = create_project('Fresh')
    ids = store(writer, project.id, [_error('A', 29.9), {'message': 'hi', 'timestamp': _at(0)}], NOW)

    report = prune(writer_runner(writer), 30, now=NOW)

    assert report.events_deleted == 0
    assert {str(e.id) for e in Event.select()} == set(ids)
    assert Issue.get().event_count == 1


@pytest.mark.sqlite_only
def test_new_databases_use_incremental_auto_vacuum_and_prune_hands_space_back(env):
    db, writer = env
    assert db.execute_sql('PRAGMA auto_vacuum').fetchone()[0] == 2  # incremental
    project = create_project('Big')
    for batch in range(4):
        _store_big(writer, project.id, str(batch), 100, days_ago=60)
    pages_before = db.execute_sql('PRAGMA page_count').fetchone()[0]

    report = prune(writer_runner(writer), 30, now=NOW)

    assert report.events_deleted == 400
    assert report.pages_freed > 0
    pages, free = _pages(db)
    assert free <= (pages - free) * FREE_PAGES_KEPT + 2  # kept for new events: a quarter of the rest (± pointer maps)
    assert pages < pages_before / 2


@pytest.mark.parametrize(
    'budget_s, chunks',
    [(60.0, [100, 200, 0]), (1e-9, [100, *[retention.MIN_CHUNK_ROWS] * (200 // retention.MIN_CHUNK_ROWS), 0])],
)
def test_delete_chunks_follow_the_time_budget(env, monkeypatch, budget_s, chunks):
    # A slow chunk holds every ingest request queued behind it: the size follows the measured pace
    # (fast: doubling from the first 100; slow: the least).
    _db, writer = env
    project = create_project('Paced')
    for _ in range(3):
        store(writer, project.id, [_error('Old', 40) for _ in range(100)], NOW)
    store(writer, project.id, [_error('Old', 1)], NOW)
    monkeypatch.setattr(retention, 'CHUNK_BUDGET_S', budget_s)
    deleted_per_chunk = []
    delete_chunk = retention.delete_events_chunk

    def recorded(*args):
        events, issues = delete_chunk(*args)
        deleted_per_chunk.append(events)
        return events, issues

    monkeypatch.setattr(retention, 'delete_events_chunk', recorded)

    report = retention.prune(writer_runner(writer), 30, now=NOW)

    assert deleted_per_chunk == chunks
    assert report.events_deleted == 300
    assert Issue.get().event_count == 1
    assert Event.select().count() == 1


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    'budget_s, first_sizes', [(60.0, [100, 200, 400]), (1e-9, [100, *[retention.MIN_VACUUM_PAGES] * 4])]
)
def test_handing_space_back_follows_the_time_budget_too(env, monkeypatch, budget_s, first_sizes):
    # Each page handed back moves one from the file's end: 2,000-page tasks held ingestion 25-85 ms in the soak.
    db, writer = env
    project = create_project('Shrinking')
    for batch in range(4):
        _store_big(writer, project.id, str(batch), 100, days_ago=60)
    monkeypatch.setattr(retention, 'CHUNK_BUDGET_S', budget_s)
    freed_per_task = []

    def run(task):
        result = writer_runner(writer)(task)
        if isinstance(result, tuple) and isinstance(result[0], tuple) and len(result[0]) == 1:  # ((pages,), took_s)
            freed_per_task.append(result[0][0])
        return result

    report = retention.prune(run, 30, now=NOW)

    assert freed_per_task[: len(first_sizes)] == first_sizes
    assert sum(freed_per_task) == report.pages_freed > 700  # 400 events of 8 KB
    pages, free = _pages(db)
    assert free <= (pages - free) * FREE_PAGES_KEPT + 2


@pytest.mark.sqlite_only
def test_a_small_prune_keeps_its_pages_for_the_next_events(env):
    db, writer = env
    project = create_project('Steady')
    _store_big(writer, project.id, 'old', 20, days_ago=60)
    _store_big(writer, project.id, 'new', 200, days_ago=1)
    pages_before, _ = _pages(db)

    report = prune(writer_runner(writer), 30, now=NOW)

    assert report.events_deleted == 20
    assert report.pages_freed == 0  # a tenth of the data: kept, the next events fill it
    pages, free = _pages(db)
    assert pages == pages_before and free > 0
    _store_big(writer, project.id, 'next', 20, days_ago=0)
    assert _pages(db)[0] - pages < free / 4  # mostly reused, not appended (new index pages may be)


@pytest.mark.sqlite_only
def test_steady_turnover_keeps_what_the_data_grew_by_since_the_last_run(env):
    # A run that deletes about what arrived since the previous one keeps those pages, however many: the
    # next interval's events fill them (returning them moved the file's end into the holes, and the
    # writer waited on that and on the checkpoint after it).
    db, writer = env
    project = create_project('Turnover')
    _store_big(writer, project.id, 'recent', 100, days_ago=1)
    last_run = prune(writer_runner(writer), 30, now=NOW)
    _store_big(writer, project.id, 'old', 300, days_ago=60)
    pages_before, _ = _pages(db)

    report = prune(writer_runner(writer), 30, now=NOW, pages_in_use_before=last_run.pages_in_use)

    assert report.events_deleted == 300
    assert report.pages_freed == 0  # three times the rest of the data, and all of it kept
    pages, free = _pages(db)
    assert pages == pages_before and free > (pages - free) * FREE_PAGES_KEPT * 2
    assert report.pages_in_use == pages - free
    _store_big(writer, project.id, 'next', 300, days_ago=0)
    assert _pages(db)[0] - pages < free / 4  # reused, not appended


def _store_big(writer, project_id: int, label: str, count: int, days_ago: float) -> None:
    """`count` events of 8 KB each: two pages apiece, so that deleting them frees pages."""
    events = [{'message': f'{"x" * 8000} {label} {i}', 'timestamp': _at(days_ago)} for i in range(count)]
    store(writer, project_id, events, NOW)


def _pages(db) -> tuple[int, int]:
    """(pages in the file, free pages among them)"""
    return tuple(db.execute_sql(f'PRAGMA {name}').fetchone()[0] for name in ('page_count', 'freelist_count'))


def test_default_retention_is_the_admin_setting_else_the_environment(env):
    assert default_retention_days(Settings(retention_days=12)) == 12
    set_setting('default_retention_days', 40)
    assert default_retention_days(Settings(retention_days=12)) == 40


def _rollups() -> tuple[dict, dict, dict]:
    levels = {(r.project_id, r.hour, r.level): r.count for r in EventCountHourly.select()}
    tags = {(r.project_id, r.hour, r.key, r.value): r.count for r in TagCountHourly.select()}
    issues = {(r.issue_id, r.hour): r.count for r in IssueCountHourly.select()}
    return levels, tags, issues


def _rollups_from_events() -> tuple[dict, dict, dict]:
    levels, tags, issues = Counter(), Counter(), Counter()
    for e in Event.select():
        hour = to_millis(e.timestamp) // 3_600_000 * 3_600_000
        levels[e.project_id, hour, e.level] += 1
        for key, value in (e.tags or {}).items():
            tags[e.project_id, hour, key, value] += 1
        if e.issue_id is not None:
            issues[e.issue_id, hour] += 1
    return dict(levels), dict(tags), dict(issues)


def test_retention_keeps_the_hourly_rollups_equal_to_the_stored_events(env):
    _db, writer = env
    project = create_project('Charts', retention_days=2)
    cutoff_hour = NOW - timedelta(days=2)
    bodies = [
        {'level': 'error', 'message': 'old', 'tags': {'region': 'eu'}, 'timestamp': _at(5)},
        {'level': 'info', 'message': 'old', 'tags': {'region': 'us'}, 'timestamp': _at(5)},
        # the same hour, on both sides of the cutoff: the hour's counts drop by one
        {'level': 'warning', 'message': 'boundary', 'tags': {'region': 'eu'},
         'timestamp': (cutoff_hour - timedelta(minutes=1)).timestamp()},
        {'level': 'warning', 'message': 'boundary', 'tags': {'region': 'eu'},
         'timestamp': (cutoff_hour + timedelta(minutes=1)).timestamp()},
        {'level': 'error', 'message': 'new', 'tags': {'region': 'eu'}, 'timestamp': _at(1)},
    ]  # fmt: skip
    store(writer, project.id, bodies, NOW)
    assert _rollups() == _rollups_from_events()

    report = prune(writer_runner(writer), 30, now=NOW)

    assert report.events_deleted == 3
    assert _rollups() == _rollups_from_events()
    levels, _tags, _issues = _rollups()
    assert sum(levels.values()) == 2


@pytest.mark.sqlite_only  # PostgreSQL's writer counts in Python, with row locks in id order
def test_a_delete_chunk_is_two_statements_however_many_counts_it_takes_down(env, monkeypatch):
    # Under load every statement costs the writer thread a wait for the GIL, and ingestion waits behind
    # the chunk: the counts follow the events by trigger, not by a statement per rollup or issue.
    db, writer = env
    project = create_project('Varied')
    bodies = [_error(f'Kind{i}', 40, level=level, tags={'shard': str(i), 'region': 'eu'})
              for i, level in enumerate(['error', 'warning', 'info'] * 10)]  # fmt: skip
    store(writer, project.id, bodies, NOW)
    statements = []
    execute_sql = db.execute_sql
    monkeypatch.setattr(
        db, 'execute_sql', lambda sql, *args, **kw: statements.append(sql) or execute_sql(sql, *args, **kw)
    )

    deleted = writer_runner(writer)(lambda: retention.delete_events_chunk(project.id, Event.project == project.id, 100))

    assert deleted == (30, 30)
    assert [s.split()[:3] for s in statements] == [['DELETE', 'FROM', '"events"'], ['DELETE', 'FROM', '"issues"']]
    monkeypatch.undo()
    assert _rollups() == ({}, {}, {})
    assert Issue.select().count() == 0


@pytest.mark.sqlite_only
def test_the_writer_zeroes_deleted_content_only_where_it_writes_anyway(env):
    # Debian builds SQLite with secure_delete on: every freed page is zeroed and written out, and FTS5
    # frees pages at every commit that changes its index (a 100-event delete chunk: 556 WAL frames, not
    # 451, and 28 ms instead of 10 on this machine). 'fast' (2) still zeroes content on rewritten pages.
    db, writer = env
    assert writer.run_task(lambda: db.execute_sql('PRAGMA secure_delete').fetchone()[0]).result(5) == 2
