"""SQLite's full-text index follows the events in chunks (events/search_index.py): search, exclusions
and word suggestions stay exact for the events not yet indexed, and the index never holds an event
twice, one that is gone or stale text (FTS5's own integrity check against the events table)."""

import time
from datetime import UTC, datetime

import pytest

from pulsekit.bus import Bus
from pulsekit.config import Settings
from pulsekit.db import migrate, open_database
from pulsekit.events import search_index
from pulsekit.events.queries import EventFilter, list_events
from pulsekit.events.suggest import suggest
from pulsekit.events.writer import Writer
from pulsekit.models import Event
from pulsekit.projects import create_project

from .projects_support import migrated_db, store

pytestmark = pytest.mark.sqlite_only  # PostgreSQL's GIN index is kept in step by PostgreSQL

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR_MS = 3_600_000
SINCE_MS, UNTIL_MS = int(NOW.timestamp() * 1000) - 24 * HOUR_MS, int(NOW.timestamp() * 1000) + HOUR_MS

BODIES = [
    {'level': 'error', 'exception': {'type': 'KeyError', 'value': "'price' missing in checkout"}},
    {'level': 'error', 'exception': {'type': 'TimeoutError', 'value': 'redis timed out after 5 s'}},
    {'level': 'warning', 'message': 'Café order retried: paiement refusé'},
    {'level': 'info', 'message': 'checkout completed for order 42'},
    {'level': 'error', 'exception': {'type': 'ValueError', 'value': 'bad quantity in checkout form'}},
]
# What a user types, as a table: each must answer the same before and after the events are indexed.
QUERIES = [
    'checkout',
    'CHECKOUT',
    'check*',
    '"timed out"',
    'checkout -order',
    '-checkout',
    'cafe',  # diacritics removed, as the index's tokenizer does
    'refuse',
    'KeyError price',
    'nowhere',
]


@pytest.fixture
def env(tmp_path):
    """A migrated database whose writer indexes only when told to (or once 1,000 events wait)."""
    with migrated_db(tmp_path, index_delay_s=3600) as (db, writer):
        yield db, writer


def _index(writer: Writer, db) -> int:
    return writer.run_task(lambda: search_index.index_next_chunk(db)).result(10)


def _found(q: str) -> list[str]:
    events, _ = list_events(EventFilter(q=q), limit=100)
    return sorted(e['id'] for e in events)


def _check_index_whole(db) -> None:
    """FTS5's check of the index against the events table (it raises "database disk image is malformed"),
    once the waiting events are indexed too; rolled back, so the test's state stays as it was."""
    with db.atomic('IMMEDIATE') as transaction:
        search_index.index_everything(db)
        db.execute_sql("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")
        transaction.rollback()


def test_events_not_yet_indexed_are_found_exactly_as_indexed_ones(env):
    db, writer = env
    project = create_project('Shop')
    ids = store(writer, project.id, BODIES, NOW)

    assert search_index.events_not_indexed(db) == len(BODIES)
    before = {q: _found(q) for q in QUERIES}
    words_before = [s.token for s in suggest('chec', None, None, SINCE_MS, UNTIL_MS)]
    assert before['checkout'] == sorted([ids[0], ids[3], ids[4]])
    assert before['"timed out"'] == [ids[1]]
    assert before['cafe'] == [ids[2]]
    assert before['nowhere'] == []
    assert 'checkout' in words_before

    assert _index(writer, db) == len(BODIES)
    assert search_index.events_not_indexed(db) == 0
    assert {q: _found(q) for q in QUERIES} == before
    assert [s.token for s in suggest('chec', None, None, SINCE_MS, UNTIL_MS)] == words_before
    _check_index_whole(db)


def test_search_spans_indexed_and_waiting_events_newest_first(env):
    db, writer = env
    project = create_project('Shop')
    older = store(writer, project.id, [{'message': f'checkout failed {n}'} for n in range(3)], NOW)
    _index(writer, db)
    newer = store(writer, project.id, [{'message': f'checkout failed again {n}'} for n in range(3)], NOW)

    assert search_index.events_not_indexed(db) == 3
    events, _ = list_events(EventFilter(q='checkout'), limit=100)
    assert [e['id'] for e in events] == list(reversed(older + newer))
    words = {s.token: s.count for s in suggest('agai', None, None, SINCE_MS, UNTIL_MS)}
    assert words == {'again': 3}


def test_deletes_on_either_side_of_the_mark_keep_the_index_whole(env):
    db, writer = env
    project = create_project('Shop')
    indexed = store(writer, project.id, [{'message': f'cart error {n}'} for n in range(6)], NOW)
    _index(writer, db)
    waiting = store(writer, project.id, [{'message': f'cart error {n}'} for n in range(6)], NOW)
    gone = indexed[::2] + waiting[::2]

    # A 'delete' for an event the index never held would corrupt it: the trigger must skip those.
    writer.run_task(lambda: Event.delete().where(Event.id.in_(gone)).execute()).result(10)
    _check_index_whole(db)
    assert _found('cart') == sorted(indexed[1::2] + waiting[1::2])

    _index(writer, db)
    _check_index_whole(db)
    assert _found('cart') == sorted(indexed[1::2] + waiting[1::2])


def test_an_event_updated_on_either_side_of_the_mark_is_found_by_its_new_text(env):
    db, writer = env
    project = create_project('Shop')
    [indexed] = store(writer, project.id, [{'message': 'first draft'}], NOW)
    _index(writer, db)
    [waiting] = store(writer, project.id, [{'message': 'second draft'}], NOW)

    writer.run_task(lambda: Event.update(message='final text').execute()).result(10)
    assert _found('draft') == []
    assert _found('final') == sorted([indexed, waiting])
    _index(writer, db)
    _check_index_whole(db)
    assert _found('final') == sorted([indexed, waiting])


def test_the_writer_indexes_a_full_chunk_without_waiting_for_the_delay(env):
    db, writer = env
    project = create_project('Shop')
    count = search_index.INDEX_CHUNK_EVENTS + search_index.INDEX_DUE_EVENTS
    for start in range(0, count, 500):
        store(writer, project.id, [{'message': f'load {n}'} for n in range(start, start + 500)], NOW)
    # The 3,600 s delay never passes: only the count can have made the writer index.
    writer.run_task(lambda: None).result(10)  # a task queued behind the chunks runs after them
    assert search_index.events_not_indexed(db) < search_index.INDEX_DUE_EVENTS
    assert writer.index_chunks >= 2
    _check_index_whole(db)


def test_a_quiet_writer_indexes_each_event_within_the_delay(tmp_path):
    with migrated_db(tmp_path, index_delay_s=0.2) as (db, writer):
        project = create_project('Shop')
        store(writer, project.id, BODIES, NOW)
        assert search_index.events_not_indexed(db) == len(BODIES)
        deadline = time.monotonic() + 10
        while search_index.events_not_indexed(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert search_index.events_not_indexed(db) == 0


def test_events_stored_before_a_restart_are_indexed_when_the_writer_starts(tmp_path):
    with migrated_db(tmp_path, index_delay_s=3600) as (db, held):
        project = create_project('Shop')
        store(held, project.id, BODIES, NOW)
        held.stop()  # as if killed: the events are stored, the index has not caught up
        assert search_index.events_not_indexed(db) == len(BODIES)

        writer = Writer(db, Bus(), index_delay_s=3600)
        writer.start()
        try:
            writer.run_task(lambda: None).result(10)  # the start-up chunk ran before this task
            assert search_index.events_not_indexed(db) == 0
            _check_index_whole(db)
        finally:
            writer.stop()


def test_the_upgrade_marks_every_existing_event_as_indexed(tmp_path):
    db = open_database(Settings(data_dir=tmp_path))
    with db.connection_context():
        migrate(db, target=12)
        db.execute_sql("INSERT INTO projects (name, slug, inserted_at) VALUES ('Legacy', 'legacy', 1)")
        for n in range(3):
            db.execute_sql(
                'INSERT INTO events (id, project_id, type, level, message, timestamp, received_at) '
                f"VALUES ('5b0f2a4e7d0c4d559a8f5d1c2b3a4e5{n}', 1, 'error', 'error', 'legacy crash {n}', 1, 1)"
            )
        migrate(db)
        assert search_index.events_not_indexed(db) == 0
        _check_index_whole(db)
        assert len(_found('legacy')) == 3


def test_the_schedule_indexes_on_count_on_time_and_retries_after_a_failure():
    now = [100.0]
    schedule = search_index.IndexSchedule(delay_s=1.0, clock=lambda: now[0])
    assert schedule.due_in_s() is None  # nothing waits: the writer sleeps until a job arrives

    schedule.note_stored(10)
    assert schedule.due_in_s() == 1.0 and schedule.waiting == 10
    now[0] += 0.4
    schedule.note_stored(10)  # later events do not push the first one's deadline back
    assert schedule.due_in_s() == pytest.approx(0.6)
    schedule.note_stored(search_index.INDEX_DUE_EVENTS)
    assert schedule.due_in_s() == 0

    schedule.note_indexed(search_index.INDEX_CHUNK_EVENTS)  # a full chunk: look again at once
    assert schedule.due_in_s() == 0
    schedule.note_indexed(20)
    assert schedule.due_in_s() is None and schedule.waiting == 0

    schedule.note_stored(1)
    schedule.note_failed()
    assert schedule.due_in_s() == search_index.INDEX_RETRY_S

    schedule.note_left_unindexed(0)
    assert schedule.due_in_s() is None
    schedule.note_left_unindexed(7)
    assert schedule.due_in_s() == 0 and schedule.waiting == 7
