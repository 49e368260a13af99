"""Which database the server tests run on: SQLite files (default) or a real PostgreSQL server.

`pytest --db postgres` runs the same tests on PostgreSQL. The server is TEST_DATABASE_URL when
given (a maintenance URL such as postgresql://postgres@127.0.0.1:5432/postgres), otherwise a
throwaway cluster this module starts (tests/pg_cluster.py) and removes at the end. Every test
gets its own database, copied from a migrated template (much faster than migrating each one),
and `DATABASE_URL` points at it: the in-process app, `pulsekit` CLI calls and `pulsekit serve`
subprocesses all use it, exactly as a user's environment variable would.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pulsekit.config import Settings

TEMPLATE = 'pulsekit_test_template'


def settings_for(data_dir: Path, **changes) -> Settings:
    """Settings for a test instance in `data_dir`, on the database this run uses."""
    return Settings(data_dir=data_dir, database_url=os.environ.get('DATABASE_URL') or None, **changes)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path='/' + name))


class PostgresDatabases:
    """Creates one migrated database per test on a PostgreSQL server, and drops it afterwards."""

    def __init__(self, server_url: str):
        import psycopg

        self.server_url = server_url
        self._admin = psycopg.connect(server_url, autocommit=True)
        self._names = itertools.count(1)
        self._prefix = f'pulsekit_test_{os.getpid()}_'
        self._make_template()

    def _make_template(self) -> None:
        from pulsekit.db import migrate, open_database

        self._admin.execute(f'DROP DATABASE IF EXISTS {TEMPLATE}_{os.getpid()} WITH (FORCE)')
        self.template = f'{TEMPLATE}_{os.getpid()}'
        self._admin.execute(f'CREATE DATABASE {self.template}')
        db = open_database(Settings(database_url=with_database(self.server_url, self.template)))
        try:
            db.connect(reuse_if_open=True)
            migrate(db)
        finally:
            db.close_all() if hasattr(db, 'close_all') else db.close()

    def create(self) -> str:
        name = f'{self._prefix}{next(self._names)}'
        self._admin.execute(f'CREATE DATABASE {name} TEMPLATE {self.template}')
        return with_database(self.server_url, name)

    def drop(self, url: str) -> None:
        # FORCE: a server subprocess killed with -9 may leave its connections for a moment.
        self._admin.execute(f'DROP DATABASE IF EXISTS {urlsplit(url).path[1:]} WITH (FORCE)')

    def close(self) -> None:
        self._admin.execute(f'DROP DATABASE IF EXISTS {self.template} WITH (FORCE)')
        self._admin.close()
