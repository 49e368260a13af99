"""Periodic jobs run once across replicas: PostgreSQL advisory locks (pulsekit/job_locks.py)."""

from __future__ import annotations

import time

import pytest

from pulsekit.job_locks import JobLocks

WAIT_S = 10.0


def test_on_sqlite_every_lock_is_granted():
    locks = JobLocks(None)
    with locks.held('retention') as first, locks.held('retention') as second:
        assert first and second  # one process: the scheduler's max_instances keeps runs apart


@pytest.mark.postgres_only
def test_a_job_lock_is_held_by_one_replica_at_a_time_and_freed_when_its_connection_dies(database_url):
    a, b = JobLocks(database_url), JobLocks(database_url)
    try:
        assert a.try_acquire('alerts-thresholds')
        assert not b.try_acquire('alerts-thresholds')  # the other replica skips this run
        assert b.try_acquire('retention')  # other jobs are independent
        a.release('alerts-thresholds')
        assert b.try_acquire('alerts-thresholds')
        b.close()  # a replica that dies (or loses its connection) holds nothing any more, once its backend ended
        deadline = time.monotonic() + WAIT_S
        while not (acquired := a.try_acquire('alerts-thresholds')) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert acquired
        assert a.try_acquire('retention')
    finally:
        a.close()
        b.close()
