"""`pulsekit backup PATH` and `pulsekit restore PATH` for the SQLite database.

Backup uses SQLite's online backup API in one step: it reads the database inside one read
transaction, so the copy is the database as of one commit, while the server keeps writing (in
WAL mode a reader never blocks the writer). A step-by-step backup would restart whenever the
server commits and could never finish under steady ingest. The copy is written beside PATH,
checked, switched to a self-contained rollback journal and renamed into place: PATH is either the
old file or a complete backup, never half of one. Backups hold API key hashes and password
hashes, so the file is created readable by its owner only (0600).

Restore copies a backup into the database file with the same API and keeps the previous
database beside it (`pulsekit.db.before-restore-<time>`). The server must be stopped: restore
refuses while another process has the database open.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .config import Settings

BACKUP_MODE = 0o600
# SQLite's unix VFS holds a shared lock on this byte of the -shm file for as long as a connection
# has a WAL database open (os_unix.c: UNIX_SHM_BASE 120 + SQLITE_SHM_NLOCK 8 = the "DMS" byte).
SHM_DMS_BYTE = 128


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    events: int
    schema_version: int
    previous: Path | None = None  # restore: where the database it replaced was kept

    def as_dict(self) -> dict:
        return {
            'path': str(self.path),
            'bytes': self.bytes,
            'events': self.events,
            'schema_version': self.schema_version,
            'previous': str(self.previous) if self.previous else None,
        }


def _sqlite_path(settings: Settings) -> Path:
    if settings.database_url and not settings.database_url.startswith('sqlite'):
        raise BackupError('the database is PostgreSQL: back it up with pg_dump / pg_restore')
    return Path(settings.sqlite_path)


def _check(path: Path) -> BackupReport:
    """Prove `path` is a whole PulseKit database (it is only read)."""
    conn = sqlite3.connect(path)
    try:
        result = conn.execute('PRAGMA quick_check').fetchone()[0]
        if result != 'ok':
            raise BackupError(f'{path} is damaged: {result}')
        try:
            version = conn.execute('SELECT MAX(version) FROM schema_migrations').fetchone()[0] or 0
            events = conn.execute('SELECT COUNT(*) FROM events').fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupError(f'{path} is not a PulseKit database ({exc})') from None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f'{path} is not a readable SQLite database ({exc})') from None
    finally:
        conn.close()
    return BackupReport(path, path.stat().st_size, events, version)


def backup_database(settings: Settings, target: Path) -> BackupReport:
    """Write a consistent copy of the running database to `target` (mode 0600)."""
    source_path = _sqlite_path(settings)
    if not source_path.exists():
        raise BackupError(f'no database at {source_path}: check --data-dir / DATABASE_PATH')
    target = Path(target)
    if target.is_dir():
        target = target / f'pulsekit-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.db'
    if not target.parent.is_dir():
        raise BackupError(f'the folder {target.parent} does not exist')
    if target.exists():  # an older backup is never replaced by accident
        raise BackupError(f'{target} exists; choose a new file name (or give a folder for a dated file)')
    partial = target.with_name(f'.{target.name}.partial')
    partial.unlink(missing_ok=True)
    _create_private(partial)
    try:
        source = sqlite3.connect(source_path, timeout=30)
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest)  # pages=-1: the whole database from one snapshot
            # One file that opens anywhere: no -wal or -shm file needs to travel with it.
            dest.execute('PRAGMA journal_mode = DELETE')
        finally:
            dest.close()
            source.close()
        os.chmod(partial, BACKUP_MODE)
        report = _check(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(target, report.bytes, report.events, report.schema_version)


def is_open_elsewhere(db_path: Path) -> bool:
    """True while another process (a running server) has this WAL database open."""
    shm = db_path.with_name(db_path.name + '-shm')
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    except PermissionError:
        raise BackupError(
            f'cannot tell whether a server has {db_path} open: run this as the user the server runs as'
        ) from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


def restore_database(settings: Settings, source: Path, *, now: datetime | None = None) -> BackupReport:
    """Replace the database with the backup at `source`; the previous one is kept beside it."""
    from .db import latest_version

    db_path = _sqlite_path(settings)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f'no backup at {source}')
    report = _check(source)
    if report.schema_version > latest_version():
        raise BackupError(
            f'{source} has schema version {report.schema_version}, newer than this PulseKit '
            f'({latest_version()}): restore it with the version that made it'
        )
    if is_open_elsewhere(db_path):
        raise BackupError(f'{db_path} is in use: stop the server first (docker stop / systemctl stop), then restore')
    db_path.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if db_path.exists():
        kept = db_path.with_name(f'{db_path.name}.before-restore-{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}')
        _create_private(kept)
        _copy(db_path, kept)
    _copy(source, db_path)
    conn = sqlite3.connect(db_path)
    try:
        conn.execute('PRAGMA journal_mode = WAL')  # as the server runs it
    finally:
        conn.close()
    return BackupReport(db_path, db_path.stat().st_size, report.events, report.schema_version, previous=kept)


def _copy(source: Path, target: Path) -> None:
    # Through SQLite rather than a file copy: a -wal file left by a crash is folded in on the way,
    # and the target's own WAL (if any) is rewritten consistently instead of replayed onto new pages.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f'copying {source} to {target} failed: {exc}') from None
    finally:
        dst.close()
        src.close()


def _create_private(path: Path) -> None:
    # Created 0600 before the first byte is written: backups hold key and password hashes.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE))
