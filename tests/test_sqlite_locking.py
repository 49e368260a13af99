"""SQLite locking: readers never need the write lock, and the writer holds it for its whole group.

Found by the Sentry real-client tests: with `auto_vacuum` among the per-connection pragmas,
every new connection (each thread of the read pool) took the write lock, and the writer's
deferred transactions failed at once with "database is locked" (HTTP 500, events lost).
"""

import sqlite3
import threading

import pytest

from pulsekit.config import Settings
from pulsekit.services import start_services

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def services(tmp_path):
    svc = start_services(Settings(data_dir=tmp_path))
    yield svc
    svc.close()


def in_thread(fn):
    """Run fn on a fresh thread (so Peewee opens a fresh connection) and return its result or raise its error."""
    box: dict = {}

    def run():
        try:
            box['result'] = fn()
        except Exception as exc:
            box['error'] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if 'error' in box:
        raise box['error']
    return box['result']


def test_a_fresh_database_uses_incremental_auto_vacuum(services):
    assert in_thread(lambda: services.db.execute_sql('PRAGMA auto_vacuum').fetchone()[0]) == 2  # incremental


def test_a_new_connection_reads_while_another_holds_the_write_lock(services):
    other = sqlite3.connect(services.settings.sqlite_path, isolation_level=None, timeout=0)
    other.execute('BEGIN IMMEDIATE')
    try:
        count = in_thread(lambda: services.db.execute_sql('SELECT count(*) FROM projects').fetchone()[0])
    finally:
        other.execute('ROLLBACK')
        other.close()
    assert count == 0


def test_the_writer_holds_the_write_lock_from_the_start_of_its_transaction(services):
    def try_to_write_elsewhere() -> bool:
        # Runs on the writer thread, inside its transaction, before it has written anything.
        other = sqlite3.connect(services.settings.sqlite_path, isolation_level=None, timeout=0)
        try:
            other.execute('BEGIN IMMEDIATE')
            other.execute('ROLLBACK')
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            other.close()

    assert services.writer.run_task(try_to_write_elsewhere).result(timeout=30) is True
