"""Periodic jobs that must run once across replicas, not once per replica: PostgreSQL advisory locks.

Every replica schedules the same jobs (threshold rules, retention, …); a run first takes the job's
session-level advisory lock with `pg_try_advisory_lock` and skips when another replica holds it.
The locks live on one dedicated autocommit connection: if that connection (or the process) dies,
PostgreSQL releases its locks at once, so a crashed replica never blocks the others.

On SQLite there is one process: every lock is granted without a query.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import psycopg

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x504B  # 'PK': the first key of pg_try_advisory_lock(int, int), so our locks are recognisable
JOB_IDS = {'alerts-thresholds': 1, 'retention': 2}


class JobLocks:
    """Advisory locks for scheduler jobs; `JobLocks(None)` (SQLite) grants every lock."""

    def __init__(self, dsn: str | None):
        self.dsn = dsn
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()  # one statement at a time on the shared connection
        self._held: set[str] = set()

    def try_acquire(self, job: str) -> bool:
        """Take the job's lock if no replica holds it (blocking I/O: call off the event loop)."""
        if self.dsn is None:
            return True
        with self._lock:
            if job in self._held:  # an overlapping run in this process: the scheduler's max_instances=1 is per job
                return False
            try:
                conn = self._connection()
                got = conn.execute('SELECT pg_try_advisory_lock(%s, %s)', (LOCK_NAMESPACE, JOB_IDS[job])).fetchone()[0]
            except psycopg.Error:
                log.warning('could not take the %s lock; the job is skipped this time', job, exc_info=True)
                self._reset()
                return False
            if got:
                self._held.add(job)
            return bool(got)

    def release(self, job: str) -> None:
        if self.dsn is None:
            return
        with self._lock:
            if job not in self._held:
                return
            self._held.discard(job)
            try:
                self._connection().execute('SELECT pg_advisory_unlock(%s, %s)', (LOCK_NAMESPACE, JOB_IDS[job]))
            except psycopg.Error:  # the connection is gone, and with it the lock
                self._reset()

    @contextlib.contextmanager
    def held(self, job: str) -> Iterator[bool]:
        """`with locks.held('retention') as is_mine:` run the job only when `is_mine` (synchronous jobs)."""
        acquired = self.try_acquire(job)
        try:
            yield acquired
        finally:
            if acquired:
                self.release(job)

    def close(self) -> None:
        with self._lock:
            self._held.clear()
            self._reset()

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._held.clear()  # a new session holds nothing
            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
        return self._conn

    def _reset(self) -> None:
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
