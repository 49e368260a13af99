"""Which database the server tests run on: SQLite files (default) or a real PostgreSQL server.

`pytest --db postgres` runs the same tests on PostgreSQL. The server is TEST_DATABASE_URL when
given (a maintenance URL such as postgresql://postgres@127.0.0.1:5432/postgres), otherwise a
throwaway cluster (tests/pg_cluster.py) removed at the end. The run migrates one database and
every test starts on it emptied (rows deleted, sequences reset: ~10 ms, where a fresh copy of a
template costs ~0.5 s with CREATE and DROP DATABASE, ten minutes over the suite). `DATABASE_URL`
points at it: the in-process app, `pulsekit` CLI calls and `pulsekit serve` subprocesses all use
it, exactly as a user's environment variable would.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pulsekit.config import Settings

TEMPLATE = 'pulsekit_test_template'


def settings_for(data_dir: Path, **changes) -> Settings:
    """Settings for a test instance in `data_dir`, on the database this run uses."""
    return Settings(data_dir=data_dir, database_url=os.environ.get('DATABASE_URL') or None, **changes)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path='/' + name))


class PostgresDatabases:
    """One migrated database, emptied before each test; separate copies for module-scoped servers."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self._admin = psycopg.connect(server_url, autocommit=True)
        self._copies = itertools.count(1)
        self.name = f'{TEMPLATE}_{os.getpid()}'
        self._admin.execute(f'DROP DATABASE IF EXISTS {self.name} WITH (FORCE)')
        self._admin.execute(f'CREATE DATABASE {self.name}')
        self.url = with_database(server_url, self.name)
        self._migrate()
        self._test_db = psycopg.connect(self.url, autocommit=True)
        self._empty_sql = self._emptying_statements()

    def _migrate(self) -> None:
        from pulsekit.db import migrate, open_database

        db = open_database(Settings(database_url=self.url))
        try:
            db.connect(reuse_if_open=True)
            migrate(db)
        finally:
            db.close()

    def _emptying_statements(self) -> str:
        tables = [
            row[0]
            for row in self._test_db.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'"
            )
        ]
        sequences = [row[0] for row in self._test_db.execute('SELECT sequencename FROM pg_sequences')]
        # replica role: no foreign-key triggers, so the order of the DELETEs does not matter.
        statements = ['SET session_replication_role = replica']
        statements += [f'DELETE FROM {table}' for table in tables]
        statements += [f"SELECT setval('{seq}', 1, false)" for seq in sequences]
        statements.append('SET session_replication_role = DEFAULT')
        return ';\n'.join(statements)

    def fresh(self) -> str:
        """The test database, emptied; connections a previous test left behind are ended first."""
        self._admin.execute(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s',
            (self.name, self._test_db.info.backend_pid),
        )
        try:
            self._test_db.execute(self._empty_sql)
        except psycopg.OperationalError:  # a test ended every connection to its database (test_postgres.py)
            self._test_db = psycopg.connect(self.url, autocommit=True)
            self._test_db.execute(self._empty_sql)
        return self.url

    def separate(self) -> str:
        """An empty database of its own (for a server that outlives one test), copied from the test one."""
        self.fresh()
        self._test_db.close()  # a template must have no connections
        name = f'{self.name}_{next(self._copies)}'
        try:
            self._admin.execute(f'CREATE DATABASE {name} TEMPLATE {self.name}')
        finally:
            self._test_db = psycopg.connect(self.url, autocommit=True)
        return with_database(self.server_url, name)

    def empty(self) -> str:
        """A database with no tables at all, for tests of the migrations themselves."""
        name = f'{self.name}_{next(self._copies)}'
        self._admin.execute(f'CREATE DATABASE {name}')
        return with_database(self.server_url, name)

    def drop(self, url: str) -> None:
        # FORCE: a server subprocess killed with -9 may leave its connections for a moment.
        self._admin.execute(f'DROP DATABASE IF EXISTS {urlsplit(url).path[1:]} WITH (FORCE)')

    def close(self) -> None:
        self._test_db.close()
        self.drop(self.url)
        self._admin.close()


@contextmanager
def writer_held(writer) -> Iterator[None]:
    """Keep the writer busy (a task that waits) so that what is sent meanwhile queues up; on either database."""
    started, release = threading.Event(), threading.Event()

    def wait() -> None:
        started.set()
        release.wait(30)

    done = writer.run_task(wait)
    started.wait(10)
    try:
        yield
    finally:
        release.set()
        done.result(30)


def stored_event_ids(data_dir: Path) -> set[str]:
    """The ids of the events stored by the instance in `data_dir` (its SQLite file, or DATABASE_URL)."""
    from pulsekit.db import open_database
    from pulsekit.models import Event

    db = open_database(settings_for(data_dir))
    try:
        with db.connection_context():
            return {str(event.id) for event in Event.select(Event.id)}
    finally:
        db.close()
