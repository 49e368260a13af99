"""SQLite keeps event ids unique without a unique index (migration 0012): what ingestion relies on."""

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from pulsekit.db import migrate, open_database
from pulsekit.errors import Conflict
from pulsekit.events import event_ids
from pulsekit.events.event_ids import BloomFilter, BloomSlice, StoredIds
from pulsekit.events.ingest import prepare_event
from pulsekit.models import Event, Issue
from pulsekit.projects import create_project
from pulsekit.services import start_services

NOW = datetime(2026, 12, 4, tzinfo=UTC)

pytestmark = pytest.mark.sqlite_only


def _events(ids: list[str], message: str = 'boom') -> list[dict]:
    return [prepare_event({'id': i, 'message': message, 'level': 'error'}, NOW) for i in ids]


def test_a_bloom_filter_never_forgets_an_id_and_rarely_claims_a_new_one(monkeypatch):
    monkeypatch.setattr(event_ids, 'MIN_SLICE_IDS', 1000)
    ids = [uuid.uuid4().hex for _ in range(40_000)]
    small = BloomFilter(10_000)
    for i in ids[:30_000]:
        small.add(i)
    assert len(small.slices) > 1  # grew past its first slice without a rescan
    assert all(i in small for i in ids[:30_000])
    false_maybes = sum(i in small for i in ids[30_000:])
    # ~0.1 % a full slice, two full and a half-full one: 22 of 10,000 on average (40 runs: 8-33);
    # 55 is off by 1e-9 (Poisson). A filter that sets or reads the wrong word claims far more.
    assert false_maybes <= 55
    assert BloomSlice(1000).nbytes <= 1000 * event_ids.BITS_PER_ID // 8 + 8


def test_retries_and_conflicts_are_told_apart_while_and_after_the_filter_fills(settings, monkeypatch):
    # A thread fills the filter from the file at start-up while the writer goes on: a retry that comes
    # after a restart is still one, before the filter is in place (exact lookups) and after.
    ids = [uuid.uuid4().hex for _ in range(300)]
    svc = start_services(settings)
    try:
        with svc.db.connection_context():
            mine, theirs = create_project('Shop').id, create_project('Other').id
        svc.writer.write_sync(mine, _events(ids), 10)
    finally:
        svc.close()

    has_read, may_finish = threading.Event(), threading.Event()
    read_all = StoredIds._read_all

    def held_read_all(db):  # the ids written after the fill read the table must join it too
        filled = read_all(db)
        has_read.set()
        assert may_finish.wait(10)
        return filled

    monkeypatch.setattr(StoredIds, '_read_all', staticmethod(held_read_all))
    svc = start_services(settings)
    try:
        stored_ids: StoredIds = svc.writer._store.stored_ids
        assert has_read.wait(10)
        assert svc.writer.write_sync(mine, _events(ids[:200]), 10) == [str(uuid.UUID(i)) for i in ids[:200]]
        during_fill = uuid.uuid4().hex
        svc.writer.write_sync(mine, _events([ids[5], during_fill]), 10)  # a retry beside a new event
        with pytest.raises(Conflict):
            svc.writer.write_sync(theirs, _events([uuid.uuid4().hex, ids[7]]), 10)
        assert not stored_ids.is_filled  # all of that was answered without the filter

        may_finish.set()
        after_fill = []
        for _ in range(100):  # the filter is swapped in after the writer's next commit
            after_fill.append(uuid.uuid4().hex)
            svc.writer.write_sync(mine, _events(after_fill[-1:]), 10)
            if stored_ids.is_filled:
                break
            time.sleep(0.05)
        assert stored_ids.is_filled and stored_ids.rebuilds == 0
        assert all(i in stored_ids._filter for i in [*ids, during_fill])  # read from the file, or added meanwhile
        svc.writer.write_sync(mine, _events([during_fill, ids[9]]), 10)
        with pytest.raises(Conflict):
            svc.writer.write_sync(theirs, _events([during_fill]), 10)
        with svc.db.connection_context():
            assert Event.select().where(Event.project == mine).count() == 301 + len(after_fill)
            assert Event.select().where(Event.project == theirs).count() == 0  # all or nothing
            # A retry is never counted twice.
            assert Issue.get(Issue.project == mine).event_count == 301 + len(after_fill)
    finally:
        svc.close()


def test_looking_up_an_id_probes_the_blocks_and_never_reads_the_table(settings):
    db = open_database(settings)
    with db.connection_context():
        migrate(db)
        plan = db.execute_sql('EXPLAIN QUERY PLAN SELECT * FROM events WHERE id = ?', ('ab',)).fetchall()
        assert 'USING INDEX events_seq_block_id (ANY(seq_block) AND id=?)' in plan[0][3]
        # Nothing else keeps ids unique on SQLite now, so the writer is the only guard (see StoredIds).
        unique = [row for row in db.execute_sql('PRAGMA index_list(events)').fetchall() if row[2]]
        assert unique == []


def _vm_steps(conn, sql: str) -> int:
    """How many SQLite bytecode steps a statement took: a few dozen for a seek, thousands for a scan."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn.set_progress_handler(count, 1)
    try:
        conn.execute(sql).fetchall()
    finally:
        conn.set_progress_handler(None, 1)
    return steps


def test_the_filter_finds_the_bounds_of_the_table_without_reading_every_event(settings):
    # The fill at start-up and each rebuild under retention ask for the table's first and last block and
    # its size. A statement that read every row would read the whole file (seconds at 1M events, with a
    # snapshot held meanwhile): each bound must be a seek, whatever the table holds.
    svc = start_services(settings)
    try:
        with svc.db.connection_context():
            project = create_project('Shop').id
        for _ in range(4):
            svc.writer.write_sync(project, _events([uuid.uuid4().hex for _ in range(500)]), 10)
        with svc.db.connection_context():
            conn = svc.db.connection()
            low, high, count = conn.execute(event_ids.FILL_BOUNDS_SQL).fetchone()
            assert (low, high, count) == (0, 0, 2000)  # 2,000 events: all in the first block of 8,192
            assert conn.execute(event_ids.SEQ_SPAN_SQL).fetchone() == (1, 2000)
            assert _vm_steps(conn, event_ids.FILL_BOUNDS_SQL) < 200
            assert _vm_steps(conn, event_ids.SEQ_SPAN_SQL) < 200
    finally:
        svc.close()


def test_the_filter_is_rebuilt_once_retention_deleted_most_ids(settings, monkeypatch):
    monkeypatch.setattr(event_ids, 'MIN_SLICE_IDS', 500)
    svc = start_services(settings)
    try:
        with svc.db.connection_context():
            project = create_project('Shop').id
        old = [uuid.uuid4().hex for _ in range(2000)]
        for start in range(0, len(old), 250):
            svc.writer.write_sync(project, _events(old[start : start + 250]), 10)
        deleted = [uuid.UUID(i) for i in old[:1900]]
        svc.writer.run_task(lambda: Event.delete().where(Event.id.in_(deleted)).execute()).result(10)
        stored_ids: StoredIds = svc.writer._store.stored_ids
        new = []
        for _ in range(20):  # the next slices are made for far more ids than the table holds now
            batch = [uuid.uuid4().hex for _ in range(250)]
            new += batch
            svc.writer.write_sync(project, _events(batch), 10)
            if stored_ids.rebuilds:
                break
        assert stored_ids.rebuilds == 1
        kept = old[1900:] + new
        assert all(i in stored_ids._filter for i in kept)
        assert sum(i in stored_ids._filter for i in old[:1900]) < 50  # the deleted ids are gone from it
        svc.writer.write_sync(project, _events(kept[:10]), 10)  # still retries after the swap
        with svc.db.connection_context():
            assert Event.select().count() == len(kept)
    finally:
        svc.close()


def test_the_upgrade_rebuilds_the_table_with_every_row_count_and_seq_kept(empty_settings):
    db = open_database(empty_settings)
    with db.connection_context():
        migrate(db, target=11)
        db.execute_sql("INSERT INTO projects (name, slug, inserted_at) VALUES ('Legacy', 'legacy', 1)")
        db.execute_sql(
            'INSERT INTO issues (project_id, fingerprint, title, level, first_seen, last_seen) '
            "VALUES (1, 'f', 'KeyError', 'error', 1790000000000, 1790000000000)"
        )
        for n in range(3):
            db.execute_sql(
                'INSERT INTO events (id, project_id, issue_id, type, level, message, timestamp, received_at) '
                f"VALUES ('{n:032x}', 1, 1, 'error', 'error', 'checkout crash {n}', 1790000000000, 1790000000000)"
            )
        db.execute_sql("DELETE FROM events WHERE id = '00000000000000000000000000000002'")  # the highest seq

        assert migrate(db, target=12) == [12]
        assert db.execute_sql('PRAGMA integrity_check').fetchone() == ('ok',)
        assert [(e.seq, e.message) for e in Event.select().order_by(Event.seq)] == [
            (1, 'checkout crash 0'),
            (2, 'checkout crash 1'),
        ]
        assert Issue.get().event_count == 2  # the copy counted nothing twice, the DROP uncounted nothing
        hits = db.execute_sql("SELECT rowid FROM events_fts WHERE events_fts MATCH 'crash'").fetchall()
        assert sorted(hits) == [(1,), (2,)]
        db.execute_sql(
            'INSERT INTO events (id, project_id, issue_id, type, level, message, timestamp, received_at) '
            "VALUES ('ffffffffffffffffffffffffffffffff', 1, 1, 'error', 'error', 'new', 1790000000000, 1790000000000)"
        )
        assert Event.get(Event.message == 'new').seq == 4  # AUTOINCREMENT never gives a seq twice
        assert Issue.get().event_count == 3  # the counting triggers came back
