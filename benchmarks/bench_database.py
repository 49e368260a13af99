"""A fresh PostgreSQL database for one benchmark configuration, dropped again afterwards.

`--database` may name the server's maintenance database (postgresql://user@host:port/postgres)
or any database the user may connect to: the benchmark connects there only to create and drop
its own `pulsekit_bench_<pid>_<n>` database, and never writes to the one it was given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness import BenchError, log


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:  # a dependency of pulsekit itself; a missing one is an install error
        raise BenchError('psycopg is not installed: pip install -e . (it comes with PulseKit)') from exc
    return psycopg


def database_url(url: str, name: str) -> str:
    """`url` with its database replaced by `name` (user, password, host, port and options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path='/' + name))


@contextlib.contextmanager
def fresh_database(url: str, suffix: str) -> Iterator[str]:
    """Create an empty database next to the one `url` names; yield its URL; drop it (also on errors)."""
    psycopg = _psycopg()
    name = f'pulsekit_bench_{os.getpid()}_{suffix}'
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f'cannot create database {name} via {url}: {exc}') from exc
    log(f'created database {name}')
    try:
        yield database_url(url, name)
    finally:
        with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f'dropped database {name}')


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its backends are its children).

    Read from /proc: the parent of our own backend. None for a remote server or another pid namespace,
    whose CPU the benchmark then cannot count apart from 'other processes'."""
    psycopg = _psycopg()
    host = urlsplit(url).hostname or ''
    if host not in {'127.0.0.1', 'localhost', '::1', ''} and not host.startswith('/'):
        return None
    with psycopg.connect(url, autocommit=True) as conn:
        backend = conn.execute('SELECT pg_backend_pid()').fetchone()[0]
        try:
            with open(f'/proc/{backend}/stat') as f:
                return int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None


def postgres_info(url: str) -> dict[str, Any]:
    """The server's version and the settings that decide write throughput (for the report), and its
    main process (for the CPU readings)."""
    psycopg = _psycopg()
    names = ['fsync', 'synchronous_commit', 'max_connections', 'shared_buffers', 'wal_buffers', 'commit_delay']
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute('SHOW server_version').fetchone()[0]
            rows = conn.execute('SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)', (names,))
            settings = {name: f'{setting}{unit or ""}' for name, setting, unit in rows}
    except psycopg.Error as exc:
        raise BenchError(f'cannot connect to {url}: {exc}') from exc
    return {'version': version, 'settings': settings, 'postmaster_pid': postmaster_pid(url)}
