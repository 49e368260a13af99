"""The single writer: one thread owns the write connection and commits whatever is queued
in one transaction (group commit).

Callers wait until their events are committed, so an acknowledgement is a promise that the
data is on disk. Each job runs in its own savepoint: one failing job (say, its project was
just deleted) fails alone, not the whole group. A full queue raises `Overloaded` at once
(backpressure), never silent loss.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import peewee as pw

from ..bus import Bus, CommitSummary
from ..db import is_sqlite
from ..errors import InvalidApiKey, Overloaded
from ..models import Issue

log = logging.getLogger(__name__)

LEVEL_RANK = {'debug': 0, 'info': 1, 'warning': 2, 'error': 3, 'fatal': 4}
EVENT_COLUMNS = (
    'id', 'project_id', 'issue_id', 'type', 'level', 'message', 'exception_type', 'exception_value', 'exception',
    'stacktrace', 'metadata', 'environment', 'release', 'tags', '"user"', 'fingerprint', 'timestamp', 'received_at',
)  # fmt: skip
JSON_KEYS = ('exception', 'stacktrace', 'metadata', 'tags', 'user', 'fingerprint')
SUMMARY_MESSAGE_CHARS = 300
INSERT_CHUNK_ROWS = 500  # 500 rows x 18 columns stays under SQLite's 32,766 bound parameters


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


@dataclass
class _Outcome:
    """What a commit stored, for the bus."""

    summaries: list[dict] = field(default_factory=list)
    new_issues: list[int] = field(default_factory=list)
    regressed: list[int] = field(default_factory=list)

    def extend(self, other: _Outcome) -> None:
        self.summaries += other.summaries
        self.new_issues += other.new_issues
        self.regressed += other.regressed


def _dump(value) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class Writer:
    def __init__(self, db: pw.Database, bus: Bus, max_queue_events: int = 50_000, max_batch_events: int = 5_000):
        self.db = db
        self.bus = bus
        self.max_queue_events = max_queue_events
        self.max_batch_events = max_batch_events
        self._jobs: deque[_Job] = deque()
        self._queued_events = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.commits = 0  # how many group commits ran; for health and benchmarks

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name='pulsekit-writer', daemon=True)
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
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    # -- submitting ------------------------------------------------------------------------
    def _enqueue(self, job: _Job) -> None:
        with self._cond:
            if self._stopping:
                raise Overloaded('the server is shutting down', retry_after_s=5)
            if job.events is not None and self._queued_events + job.size > self.max_queue_events:
                raise Overloaded('the server is busy; retry shortly', retry_after_s=1)
            self._jobs.append(job)
            self._queued_events += job.size
            self._cond.notify()

    async def write(self, project_id: int, events: list[dict]) -> list[str]:
        """Store normalised events for a project; returns their ids once committed."""
        loop = asyncio.get_running_loop()
        job = _Job(project_id, events, None, loop=loop, future=loop.create_future(), size=len(events))
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
        with self._cond:
            while not self._jobs and not self._stopping:
                self._cond.wait()
            if not self._jobs:
                return None
            group, size = [], 0
            while self._jobs and (not group or size + self._jobs[0].size <= self.max_batch_events):
                job = self._jobs.popleft()
                group.append(job)
                size += job.size
            return group

    def _run(self) -> None:
        self.db.connect(reuse_if_open=True)
        try:
            while True:
                group = self._take_group()
                if group is None:
                    return
                self._commit_group(group)
        finally:
            self.db.close()

    def _commit_group(self, group: list[_Job]) -> None:
        out = _Outcome()
        try:
            with self._transaction():
                self._apply(group, out)
            self.commits += 1
        except Exception as exc:  # the commit itself failed: nothing of the group is stored
            log.exception('group commit failed')
            out = _Outcome()
            if isinstance(exc, pw.OperationalError) and 'locked' in str(exc):
                # Another process held the write lock beyond busy_timeout: the client may retry.
                exc = Overloaded('the database is busy; retry shortly', retry_after_s=1)
            for job in group:
                job.error = exc
        with self._cond:
            self._queued_events -= sum(job.size for job in group)
        if out.summaries or out.new_issues:
            # Before answering the clients: whoever reads after a 202 finds the commit announced.
            self.bus.publish(CommitSummary(out.summaries, out.new_issues, out.regressed))
        self._resolve(group)

    def _apply(self, group: list[_Job], out: _Outcome) -> None:
        """Store all event jobs of the group in one pass (one lookup, one INSERT); should that fail
        (say, a project deleted meanwhile), redo them one by one in savepoints so only the culprit fails."""
        tasks = [job for job in group if job.task is not None]
        event_jobs = [job for job in group if job.task is None]
        for job in tasks:
            self._in_savepoint(job, lambda job=job: job.task())
        if not event_jobs:
            return
        try:
            with self.db.atomic():
                attempt = _Outcome()
                results = self._store(event_jobs, attempt)
            for job, result in zip(event_jobs, results, strict=True):
                job.result = result
            out.extend(attempt)
        except Exception:
            for job in event_jobs:
                self._in_savepoint(job, lambda job=job: self._store_alone(job, out))

    def _store_alone(self, job: _Job, out: _Outcome) -> list[str]:
        try:
            return self._store([job], out)[0]
        except pw.IntegrityError:
            # The only reference an event makes is to its project: deleted after the key was checked.
            raise InvalidApiKey('the project of this key no longer exists') from None

    def _in_savepoint(self, job: _Job, work: Callable[[], Any]) -> None:
        try:
            with self.db.atomic():
                job.result = work()
        except Exception as exc:
            job.error = exc
            if not isinstance(exc, InvalidApiKey):
                log.exception('writer job failed')

    def _transaction(self):
        # BEGIN IMMEDIATE takes SQLite's write lock up front, so a lock held by another process is
        # waited for (busy_timeout) instead of failing at once when a read would upgrade to a write.
        return self.db.atomic('IMMEDIATE') if is_sqlite(self.db) else self.db.atomic()

    def _resolve(self, group: list[_Job]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            if job.loop is not None:
                by_loop.setdefault(job.loop, []).append(job)
            elif job.error is not None:
                job.future.set_exception(job.error)
            else:
                job.future.set_result(job.result)
        for loop, jobs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve_async, jobs)
            except RuntimeError:  # the loop is gone (shutdown); the data is committed regardless
                pass

    # -- storing events --------------------------------------------------------------------
    def _store(self, jobs: list[_Job], out: _Outcome) -> list[list[str]]:
        """Insert the jobs' events that are not stored yet and update their issues; returns each job's ids."""
        ids = [e['id'].hex for job in jobs for e in job.events]
        seen = self._existing_ids(ids)
        fresh: list[tuple[int, dict]] = []
        for job in jobs:
            for event in job.events:
                hex_id = event['id'].hex
                if hex_id not in seen:  # idempotency: stored before, or twice in this group
                    seen.add(hex_id)
                    fresh.append((job.project_id, event))
        issue_ids = self._upsert_issues(fresh, out)
        if fresh:
            rows = [self._row(pid, e, issue_ids.get((pid, e.get('_fingerprint')))) for pid, e in fresh]
            self._insert_rows(rows)
        out.summaries.extend(self._summary(pid, e, issue_ids.get((pid, e.get('_fingerprint')))) for pid, e in fresh)
        return [[str(e['id']) for e in job.events] for job in jobs]

    def _insert_rows(self, rows: list[tuple]) -> None:
        # Multi-row INSERTs rather than executemany: each statement execution releases and re-takes
        # the GIL, and re-taking it can wait a whole switch interval while the event loop runs, so one
        # statement per row made the writer crawl under load (measured: ~40% fewer events/s).
        row_sql = '(' + ', '.join([self.db.param] * len(EVENT_COLUMNS)) + ')'
        cursor = self.db.cursor()
        for start in range(0, len(rows), INSERT_CHUNK_ROWS):
            chunk = rows[start : start + INSERT_CHUNK_ROWS]
            sql = (
                f'INSERT INTO events ({", ".join(EVENT_COLUMNS)}) VALUES {", ".join([row_sql] * len(chunk))} '
                'ON CONFLICT DO NOTHING'
            )
            with pw.__exception_wrapper__:  # DB-API errors as Peewee's, whatever the driver
                cursor.execute(sql, [value for row in chunk for value in row])

    def _existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            placeholders = ', '.join([self.db.param] * len(chunk))
            cursor = self.db.execute_sql(f'SELECT id FROM events WHERE id IN ({placeholders})', chunk)
            found.update(str(row[0]).replace('-', '') for row in cursor.fetchall())
        return found

    def _upsert_issues(self, events: list[tuple[int, dict]], out: _Outcome) -> dict[tuple[int, str], int]:
        """One lookup and one insert-or-update per distinct (project, fingerprint) of the group."""
        by_fingerprint: dict[tuple[int, str], list[dict]] = {}
        for project_id, event in events:
            if event.get('_fingerprint'):
                by_fingerprint.setdefault((project_id, event['_fingerprint']), []).append(event)
        issue_ids: dict[tuple[int, str], int] = {}
        for (project_id, fingerprint), group in by_fingerprint.items():
            first = min(e['timestamp'] for e in group)
            last = max(e['timestamp'] for e in group)
            level = max((e['level'] for e in group), key=LEVEL_RANK.__getitem__)
            issue = Issue.get_or_none((Issue.project == project_id) & (Issue.fingerprint == fingerprint))
            if issue is None:
                sample = group[-1]
                issue = Issue.create(
                    project=project_id, fingerprint=fingerprint, title=sample['_title'], culprit=sample['_culprit'],
                    level=level, status='open', first_seen=first, last_seen=last, event_count=len(group),
                )  # fmt: skip
                out.new_issues.append(issue.id)
            else:
                changes = {
                    Issue.event_count: Issue.event_count + len(group),
                    Issue.last_seen: max(last, _millis(issue.last_seen)),
                    Issue.first_seen: min(first, _millis(issue.first_seen)),
                }
                if LEVEL_RANK[level] > LEVEL_RANK.get(issue.level, 0):
                    changes[Issue.level] = level
                if issue.status == 'resolved':
                    changes.update({Issue.status: 'open', Issue.is_regression: True, Issue.resolved_at: None})
                    out.regressed.append(issue.id)
                Issue.update(changes).where(Issue.id == issue.id).execute()
            issue_ids[(project_id, fingerprint)] = issue.id
        return issue_ids

    def _row(self, project_id: int, event: dict, issue_id: int | None) -> tuple:
        exception = event['exception']
        return (
            event['id'].hex, project_id, issue_id, event['type'], event['level'], event['message'],
            exception['type'] if exception else None, exception.get('value') if exception else None,
            _dump(exception), _dump(event['stacktrace']), _dump(event['metadata']), event['environment'],
            event['release'], _dump(event['tags']), _dump(event['user']), _dump(event['fingerprint']),
            event['timestamp'], event['received_at'],
        )  # fmt: skip

    def _summary(self, project_id: int, event: dict, issue_id: int | None) -> dict:
        message = event['message'] or (event['exception'] or {}).get('value') or ''
        return {
            'id': str(event['id']), 'project_id': project_id, 'issue_id': issue_id, 'type': event['type'],
            'level': event['level'], 'message': message[:SUMMARY_MESSAGE_CHARS], 'environment': event['environment'],
            'release': event['release'], 'tags': event['tags'] or {}, 'timestamp': event['timestamp'],
            'exception_type': (event['exception'] or {}).get('type'),
        }  # fmt: skip


def _millis(value) -> int:
    return value if isinstance(value, int) else int(value.timestamp() * 1000)


def _resolve_async(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():  # the client went away; its events are committed all the same
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
