"""The single writer: one thread owns the write connection and commits whatever is queued
in one transaction (group commit); a task (retention, dashboard actions) commits alone.

Callers wait until their events are committed, so an acknowledgement is a promise that the
data is on disk. When a group cannot be committed in one go, it is redone job by job, each in
its own savepoint: one failing job (its project was just deleted, its text cannot be stored,
its event id belongs to another project) fails alone, with a 4xx when its input is at fault,
never the requests committed beside it. A full queue raises `Overloaded` at once
(backpressure), never silent loss. This module decides how a group is committed; the SQL each
commit runs (rows, issues) is in event_store.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import peewee as pw

from ..bus import Bus, CommitSummary
from ..db import SQLITE_PRAGMAS, WRITER_MMAP_SIZE, is_sqlite
from ..errors import Conflict, InsufficientStorage, InvalidApiKey, InvalidField, Overloaded, PulseKitError
from ..threads import named_thread
from . import pg_counting, search_index
from .event_store import INSERT_CHUNK_ROWS, EventStore, IdCollision, Outcome, fresh_events
from .storable import id_conflict, unstorable_event_error

log = logging.getLogger(__name__)
RESTART_BUSY_TIMEOUT_MS = 200  # longest wait for readers in one WAL restart attempt
RESTART_RETRY_S = 0.5  # pause before a busy WAL restart is tried again
ISSUE_CACHE_SIZE = 10_000  # (project id, fingerprint) pairs remembered for the one-statement commit
# A small group waits this long after its first request arrived for others to join it (SQLite). A
# commit costs ~30 pages of WAL however few events it holds (FTS5's segment, the indexes' tails, the
# rollups; benchmarks/commit_pages.py), so at a moderate rate grouping saves I/O (1,000 events/s:
# 54 → 40 MB/s written); a request that already waited this long in the queue (the writer is the
# bottleneck) never waits more.
GROUP_LINGER_S = 0.002
GROUP_LINGER_EVENTS = 32  # a group this large commits at once


@dataclass
class _Job:
    project_id: int | None
    events: list[dict] | None
    task: Callable[[], Any] | None
    # Exactly one way to hand back the result: an asyncio future on its loop, or a thread future.
    loop: asyncio.AbstractEventLoop | None = None
    future: Any = None
    result: Any = None
    error: BaseException | None = None
    size: int = field(default=1)
    is_batch: bool = False  # errors name `events[i].field` rather than `field`
    enqueued_at: float = 0.0  # time.monotonic() when queued


class _Transient(Exception):
    """PostgreSQL: the transaction lost a deadlock or serialization race with another writer."""


class _RedoJobByJob(Exception):
    """The one-pass commit of a group failed; it is rolled back and redone job by job."""


def client_error(exc: Exception) -> Exception:
    """A database failure the client can act on, as the domain error the API maps (others stay 500s).

    The whole chain is read: when a COMMIT fails (a full disk), SQLite has already ended the
    transaction, and Peewee's ROLLBACK then raises "cannot rollback" with the real cause as context."""
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, pw.OperationalError | sqlite3.OperationalError):
            if 'locked' in str(cause):
                # Another process held the write lock beyond busy_timeout: the client may retry.
                return Overloaded('the database is busy; retry shortly', retry_after_s=1)
            if 'disk is full' in str(cause):
                return InsufficientStorage('the server ran out of disk space; nothing of this request was stored')
        cause = cause.__cause__ or cause.__context__
    return exc


def _log_failure(what: str, exc: Exception) -> None:
    """A full disk is the operator's to fix, and health and the 507 answers already say so: one clear
    line for it, a traceback for anything else."""
    if isinstance(client_error(exc), InsufficientStorage):
        log.error('%s: the disk is full, nothing of it was stored (%s)', what, exc)
    else:
        log.exception(what)


class Writer:
    def __init__(
        self,
        db: pw.Database,
        bus: Bus,
        max_queue_events: int = 50_000,
        max_batch_events: int = 5_000,
        index_delay_s: float = search_index.INDEX_DELAY_S,
    ):
        self.db = db
        self.bus = bus
        # SQLite: the issue and rollup counters are kept by triggers (migration 0005). The writer shares
        # the GIL with the event loop, and each statement releases it and then waits to take it back, so
        # a commit is a handful of statements however many events it stores.
        self._sqlite = is_sqlite(db)
        self._store = EventStore(db)
        # (project_id, fingerprint) → [issue id, status], for the one-statement commit. Only this thread
        # changes issues in this process (tasks included), and the cache is dropped after every task.
        self._issue_cache: dict[tuple[int, str], list] = {}
        self.max_queue_events = max_queue_events
        self.max_batch_events = max_batch_events
        self._jobs: deque[_Job] = deque()
        self._queued_events = 0
        self._cond = threading.Condition()
        self.group_linger_s = GROUP_LINGER_S if self._sqlite else 0.0
        self._is_lingering = False  # the thread waits for a small group to grow: wake it only when it is full
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.commits = 0  # how many group commits ran; for health and benchmarks
        self.wal_restarts = 0  # RESTART checkpoints run between commits (SQLite); for health and benchmarks
        self._is_wal_restart_requested = False  # set by the checkpointer's thread, read by this one
        self._next_wal_restart_at = 0.0  # monotonic time before which a busy restart is not retried
        # () -> a reason to refuse events (the disk is nearly full), or None; set by start_services.
        self.storage_guard: Callable[[], str | None] | None = None
        # SQLite: the full-text index follows the events in chunks, between commits (search_index.py).
        self._index_schedule = search_index.IndexSchedule(index_delay_s) if self._sqlite else None
        self.index_chunks = 0  # full-text index chunks committed; for tests

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = named_thread(self._run, 'pulsekit-writer')
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after every queued job is committed (graceful shutdown drains the queue)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error('writer did not drain within %.1fs; %d events still queued', timeout_s, self._queued_events)

    @property
    def queue_depth(self) -> int:
        """Events waiting to be committed."""
        return self._queued_events

    @property
    def search_index_lag(self) -> int | None:
        """SQLite: events stored that the full-text index does not cover yet (searches read them from
        a small index of their own meanwhile); None on PostgreSQL."""
        return self._index_schedule.waiting if self._index_schedule is not None else None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    # -- submitting ------------------------------------------------------------------------
    def _enqueue(self, job: _Job) -> None:
        with self._cond:
            if self._stopping:
                raise Overloaded('the server is shutting down', retry_after_s=5)
            if job.events is not None and self._queued_events + job.size > self.max_queue_events:
                raise Overloaded('the server is busy; retry shortly', retry_after_s=1)
            if job.events is not None and self.storage_guard is not None:
                reason = self.storage_guard()
                if reason:
                    raise InsufficientStorage(reason)
            job.enqueued_at = time.monotonic()
            self._jobs.append(job)
            self._queued_events += job.size
            if not self._is_lingering or self._queued_events >= GROUP_LINGER_EVENTS or job.task is not None:
                self._cond.notify()

    async def write(self, project_id: int, events: list[dict], *, is_batch: bool = False) -> list[str]:
        """Store normalised events for a project; returns their ids once committed."""
        loop = asyncio.get_running_loop()
        job = _Job(project_id, events, None, loop=loop, future=loop.create_future(), size=len(events))
        job.is_batch = is_batch
        self._enqueue(job)
        return await job.future

    def write_sync(self, project_id: int, events: list[dict], timeout_s: float | None = None) -> list[str]:
        """Blocking variant of `write` for the CLI, demo data and scripts."""
        job = _Job(project_id, events, None, future=concurrent.futures.Future(), size=len(events))
        self._enqueue(job)
        return job.future.result(timeout_s)

    def run_task(self, task: Callable[[], Any]) -> concurrent.futures.Future:
        """Run `task()` on the writer thread inside a transaction (other tables' writes that must
        not contend with ingestion for SQLite's write lock)."""
        job = _Job(None, None, task, future=concurrent.futures.Future(), size=0)
        self._enqueue(job)
        return job.future

    # -- the thread ------------------------------------------------------------------------
    def _take_group(self) -> list[_Job] | None:
        """The next group to commit; [] when a full-text index chunk is due first; None once stopped."""
        with self._cond:
            while not self._jobs and not self._stopping:
                wait_s = self._index_schedule.due_in_s() if self._index_schedule else None
                if wait_s == 0:
                    return []
                self._cond.wait(wait_s)
            if not self._jobs:
                return None
            self._linger()
            group, size = [], 0
            while self._jobs and (not group or size + self._jobs[0].size <= self.max_batch_events):
                if group and (group[0].task is not None or self._jobs[0].task is not None):
                    # A task commits alone: the ingest requests queued before it are answered without
                    # waiting for it (a retention chunk takes milliseconds; an event commit, one).
                    break
                job = self._jobs.popleft()
                group.append(job)
                size += job.size
            return group

    def _linger(self) -> None:
        """Let a small group of events wait for company, until GROUP_LINGER_S after its first request
        was queued (holding self._cond)."""
        if self.group_linger_s <= 0 or self._jobs[0].task is not None:
            return
        deadline = self._jobs[0].enqueued_at + self.group_linger_s
        try:
            while (
                self._queued_events < GROUP_LINGER_EVENTS
                and self._jobs[-1].task is None
                and not self._stopping
                and not self._is_wal_restart_requested
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._is_lingering = True
                self._cond.wait(remaining)
        finally:
            self._is_lingering = False

    def _run(self) -> None:
        self.db.connect(reuse_if_open=True)
        if self._sqlite:
            self.db.execute_sql(f'PRAGMA mmap_size = {WRITER_MMAP_SIZE}')
        stored_ids = self._store.stored_ids
        try:
            if stored_ids is not None:
                try:
                    stored_ids.start_filling()
                except Exception:  # without the filter every id is looked up: slower, still exact
                    log.exception('writer: the event id filter could not be filled')
            if self._index_schedule is not None:
                self._index_left_unindexed()
            while True:
                group = self._take_group()
                if group is None:
                    return
                if group:
                    try:
                        self._commit_group(group)
                        if stored_ids is not None:
                            stored_ids.after_commit()
                    except Exception:  # the thread must outlive any one group, or ingestion stops for good
                        log.exception('writer: a group failed after its commit')
                if self._index_schedule is not None and self._index_schedule.due_in_s() == 0:
                    self._index_search_chunk()
                if self._is_wal_restart_requested:
                    self._restart_wal()
        finally:
            self.db.close()

    @property
    def is_wal_restart_pending(self) -> bool:
        return self._is_wal_restart_requested

    def request_wal_restart(self) -> None:
        """Fold the WAL back and start it over between two commits (the checkpointer asks, see db.Checkpointer)."""
        self._is_wal_restart_requested = True
        with self._cond:
            self._cond.notify()

    def _restart_wal(self) -> None:
        # On this thread, between two commits: no other writer holds the lock, so the checkpoint only
        # waits for readers, and most frames were already copied by the checkpointer's PASSIVE rounds.
        # A reader holding an old snapshot (or the checkpointer's own round) makes it busy: the request
        # stays pending and is retried after a pause, and each try waits at most RESTART_BUSY_TIMEOUT_MS,
        # so a slow reader can never stall ingestion for long.
        if not self._sqlite:
            self._is_wal_restart_requested = False
            return
        if time.monotonic() < self._next_wal_restart_at:
            return
        try:
            self.db.execute_sql(f'PRAGMA busy_timeout = {RESTART_BUSY_TIMEOUT_MS}')
            busy, _frames, _copied = self.db.execute_sql('PRAGMA wal_checkpoint(RESTART)').fetchone()
        except pw.OperationalError as exc:
            log.debug('WAL restart failed, retried shortly: %s', exc)
            busy = 1
        finally:
            self.db.execute_sql(f'PRAGMA busy_timeout = {SQLITE_PRAGMAS["busy_timeout"]}')
        if busy:
            self._next_wal_restart_at = time.monotonic() + RESTART_RETRY_S
        else:
            self._is_wal_restart_requested = False
            self.wal_restarts += 1

    def _index_left_unindexed(self) -> None:
        """At start-up, before any group: events stored before a restart (or a kill) go first."""
        try:
            waiting = search_index.events_not_indexed(self.db)
        except Exception:  # searches read them through their tail all the same; the next chunk finds them
            log.exception('writer: could not count the events the full-text index does not cover')
            return
        self._index_schedule.note_left_unindexed(waiting)
        if waiting:
            self._index_search_chunk()

    def _index_search_chunk(self) -> None:
        # A chunk of its own, between two commits: the requests queued meanwhile wait for it as they
        # would for one large batch. Should it fail (a full disk), the events stay searchable through
        # each search's tail, and the chunk is tried again later.
        try:
            with self._transaction():
                indexed = search_index.index_next_chunk(self.db)
        except Exception as exc:
            _log_failure('full-text index chunk failed', exc)
            self._index_schedule.note_failed()
            return
        self._index_schedule.note_indexed(indexed)
        self.index_chunks += 1

    def _commit_group(self, group: list[_Job]) -> None:
        if group[0].task is not None:  # a task commits alone (_take_group)
            self._issue_cache.clear()  # it may change issues: their states are read again
            self._commit_task(group[0])
            self.commits += 1
            self._resolve(group)
        else:
            self._commit_events(group)

    def _commit_events(self, group: list[_Job]) -> None:
        try:
            try:
                out = self._commit_in_one_statement(group)
            except Exception:  # nothing or part of it stored, by a statement of its own: the careful path sorts it out
                log.warning('one-statement commit failed; redoing the group', exc_info=True)
                out = None
            if out is None:
                self._issue_cache.clear()  # new issues or failures: states may have changed
                out = self._commit_in_one_pass_retried(group)
            if out is None:  # something in the group failed: redo it job by job, so only the culprit fails
                out = self._commit_job_by_job(group)
            self.commits += 1
        except Exception as exc:  # the commit itself failed: nothing of the group is stored
            _log_failure('group commit failed', exc)
            out = Outcome()
            exc = client_error(exc)
            for job in group:
                job.error = exc
        with self._cond:
            self._queued_events -= sum(job.size for job in group)
        if self._index_schedule is not None:
            self._index_schedule.note_stored(len(out.summaries))
        if out.summaries or out.new_issues:
            # Before answering the clients: whoever reads after a 202 finds the commit announced.
            self.bus.publish(CommitSummary(out.summaries, out.new_issues, out.regressed))
        self._resolve(group)

    def _commit_in_one_statement(self, group: list[_Job]) -> Outcome | None:
        """The common case on SQLite: events only, of known issues. The INSERT, in autocommit mode, is
        the whole transaction (triggers count the events in their issues and rollups), so the commit
        costs this thread two GIL hand-overs, not one per statement. None: take the transaction path.
        """
        if not self._sqlite:
            return None
        try:
            fresh = fresh_events(_requests(group))
        except IdCollision:
            return None
        if not fresh or len(fresh) > INSERT_CHUNK_ROWS:
            return None
        if self._store.existing_ids([e['id'].hex for _, e in fresh]):
            return None  # a client retry or an id of another project: the careful path tells which
        cache = self._issue_cache
        keys = {(pid, e['_fingerprint']) for pid, e in fresh if e.get('_fingerprint')}
        missing = [key for key in keys if key not in cache]
        if missing:
            if len(cache) + len(missing) > ISSUE_CACHE_SIZE:
                cache.clear()
            for key, state in self._store.known_issues(dict.fromkeys(missing)).items():
                cache[key] = [state[0], state[2]]  # id, status
            if any(key not in cache for key in missing):
                return None  # new issues are created in a transaction with their first events
        try:
            # Building the rows can fail too (orjson refuses text without a UTF-8 form): inside the try, or
            # one bad event would fail the whole group instead of being found by the careful path.
            rows = [
                self._store.row(pid, event, cache[pid, event['_fingerprint']][0] if event.get('_fingerprint') else None)
                for pid, event in fresh
            ]
            self._store.insert_statement(rows)
        except Exception:  # a statement is atomic: nothing is stored; the careful path finds the culprit
            return None
        out = Outcome()
        for pid, event in fresh:
            state = cache.get((pid, event.get('_fingerprint')))
            if state is not None and state[1] == 'resolved':  # the trigger reopened it
                state[1] = 'open'
                out.regressed.append(state[0])
            out.summaries.append(self._store.summary(pid, event, state[0] if state else None))
        for job in group:
            job.result = [str(e['id']) for e in job.events]
        return out

    def _commit_in_one_pass(self, group: list[_Job]) -> Outcome | None:
        """All the jobs' events in one INSERT, optimistically (no id lookup, no savepoint).

        Returns None, with the transaction rolled back, when the events could not all be stored that
        way: some were stored before (a client retry; redone with the id lookup so counters never
        include an event twice), or one job failed (say, its project was deleted meanwhile).
        """
        out = Outcome()
        try:
            with self._transaction():
                try:
                    results = self._store.store_events(_requests(group), out, stored=set())
                except Exception as exc:
                    if pg_counting.is_transient(exc):
                        raise _Transient from exc
                    raise _RedoJobByJob from exc
                for job, result in zip(group, results, strict=True):
                    job.result = result
        except _RedoJobByJob:
            return None
        return out

    def _commit_in_one_pass_retried(self, group: list[_Job]) -> Outcome | None:
        """PostgreSQL: a transaction that lost a deadlock to another replica's writer is redone whole; the
        job-by-job path would answer 500 to whichever job's savepoint lost the next one."""
        for attempt in range(1, pg_counting.TRANSIENT_RETRIES + 1):
            try:
                return self._commit_in_one_pass(group)
            except _Transient:
                log.info('group commit redone after a deadlock with another writer (attempt %d)', attempt)
        return None

    def _commit_job_by_job(self, group: list[_Job]) -> Outcome:
        out = Outcome()
        with self._transaction():
            for job in group:
                self._in_savepoint(job, lambda job=job: self._store_alone(job, out))
        return out

    def _commit_task(self, job: _Job) -> None:
        """The task in a transaction of its own, without a savepoint: its two statements would cost this
        thread two more waits for the GIL (retention runs a task every few milliseconds under load)."""
        self._run_job(job, self._transaction(), job.task, 'writer task failed')

    def _store_alone(self, job: _Job, out: Outcome) -> list[str]:
        """One request's events, or the client error that explains why they cannot be stored."""
        error = unstorable_event_error(job.events, job.is_batch)
        if error is not None:
            raise error
        existing = self._store.existing_ids([e['id'].hex for e in job.events])
        conflict = id_conflict(job.events, {h for h, pid in existing.items() if pid != job.project_id}, job.is_batch)
        if conflict is not None:  # never a 202 for an event that is not stored (docs/protocol.md)
            raise conflict
        attempt = Outcome()
        try:
            result = self._store.store_events(_requests([job]), attempt, stored=set(existing))[0]
        except pw.IntegrityError as exc:
            if 'null' in str(exc).lower():  # the INSERT's id guard: another process took the id meanwhile
                raise Conflict('an event id of this request is already used by another project', None) from None
            # The only reference an event makes is to its project: deleted after the key was checked.
            raise InvalidApiKey('the project of this key no longer exists') from None
        except (UnicodeEncodeError, orjson.JSONEncodeError) as exc:  # text the check above did not foresee
            raise InvalidField(f'the event cannot be stored: {exc}', None) from None
        out.extend(attempt)  # only once the job's events are in: a failed job announces nothing
        return result

    def _in_savepoint(self, job: _Job, work: Callable[[], Any]) -> None:
        self._run_job(job, self.db.atomic(), work, 'writer job failed')

    @staticmethod
    def _run_job(job: _Job, transaction, work: Callable[[], Any], what: str) -> None:
        """`work()` inside `transaction`: its result, or its error as the client should see it, go to the job."""
        try:
            with transaction:
                job.result = work()
        except Exception as exc:
            job.error = client_error(exc)
            if not isinstance(exc, PulseKitError):  # the client's fault is answered, not logged as ours
                _log_failure(what, exc)

    def _transaction(self):
        # BEGIN IMMEDIATE takes SQLite's write lock up front, so a lock held by another process is
        # waited for (busy_timeout) instead of failing at once when a read would upgrade to a write.
        return self.db.atomic('IMMEDIATE') if is_sqlite(self.db) else self.db.atomic()

    def _resolve(self, group: list[_Job]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            if job.loop is not None:
                by_loop.setdefault(job.loop, []).append(job)
            else:
                _settle(job)
        for loop, jobs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve_async, jobs)
            except RuntimeError:  # the loop is gone (shutdown); the data is committed regardless
                pass


def _requests(jobs: list[_Job]) -> list[tuple[int, list[dict]]]:
    return [(job.project_id, job.events) for job in jobs]


def _settle(job: _Job) -> None:
    """Hand a job's outcome to its waiter (asyncio or thread future), on the future's own thread."""
    if job.future.done():  # the caller stopped waiting; what it asked for is committed all the same
        return
    if job.error is not None:
        job.future.set_exception(job.error)
    else:
        job.future.set_result(job.result)


def _resolve_async(jobs: list[_Job]) -> None:
    for job in jobs:
        _settle(job)
