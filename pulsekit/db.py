"""Database selection (SQLite or PostgreSQL), connection pragmas and migrations.

The only module that knows which database is in use: everything else asks it for
dialect-specific pieces (`json_text`, `dialect`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import peewee as pw
from playhouse.db_url import parse
from playhouse.postgres_ext import Psycopg3Database
from playhouse.shortcuts import ReconnectMixin
from psycopg.types.string import TextLoader

from . import migrations
from .config import Settings
from .errors import NotFound
from .models import SchemaMigration, database_proxy, now_utc
from .threads import named_thread

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 1.0  # how often the WAL is copied back into the database file, seconds
# Past this much WAL content the writer restarts the WAL between two commits. It equals
# journal_size_limit, to which SQLite truncates the file when it starts over, so the -wal file
# stays near this size plus what arrives in the second it takes to notice (documented bound: 256 MB).
WAL_RESTART_BYTES = 64 * 1024 * 1024
# Mapped, the writer ran ~20 % faster while the whole file fit in the map (the first ~60,000 events)
# and no faster after; unmapped, it runs at the same rate at any size (docs/notes.md, session 10).
WRITER_MMAP_SIZE = 0
CATCH_UP_ROUNDS = 2  # extra checkpoint rounds at most before a restart (see Checkpointer.catch_up)
CATCH_UP_DONE_FRAMES = 256  # a round that copied fewer new frames than this (1 MB) is close enough

# WAL lets readers run beside the single writer; synchronous=NORMAL in WAL mode loses nothing
# on a process crash (kill -9), only possibly the last transactions on power loss.
SQLITE_PRAGMAS = {
    'journal_mode': 'wal',
    'synchronous': 'normal',
    'foreign_keys': 1,
    'busy_timeout': 5000,
    'journal_size_limit': WAL_RESTART_BYTES,
    'cache_size': -32 * 1024,
    'temp_store': 'memory',
    # Readers read the first 256 MB through a memory map rather than a read() call per page. The writer
    # does not (WRITER_MMAP_SIZE): it only reads the right edges of its indexes.
    'mmap_size': 256 * 1024 * 1024,
    'wal_autocheckpoint': 0,  # checkpoints run on their own thread (db.Checkpointer), never inside a commit
    # Debian (and so our image) builds SQLite with secure_delete on: every page freed is zeroed and
    # written out. FTS5 frees and rewrites segment pages at every commit that changes the index, and
    # a retention chunk of 100 events then took 28 ms alone instead of 10 (the commit 21 ms, not 3).
    # 'fast' (upstream's default is off) still zeroes deleted content on pages written anyway; pages
    # on the free list keep theirs until reused (docs/operations.md, Retention).
    'secure_delete': 'fast',
}


PRIVATE_FILE_MODE = 0o600  # the database, its WAL and shared-memory files, backups: the owner only
PRIVATE_DIR_MODE = 0o700  # the data folder (database, session secret, dashboard sessions)


def open_database(settings: Settings) -> pw.Database:
    """Open (creating the file and folder if needed) the configured database and bind the models to it."""
    if settings.database_url and not settings.database_url.startswith('sqlite'):
        db = PostgresDatabase(**parse(settings.database_url))
    else:
        secure_data_dir(settings.data_dir)
        path = Path(settings.sqlite_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create_sqlite_file(path)
        make_private(path)
        db = pw.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS)
    database_proxy.initialize(db)
    return db


class PostgresDatabase(ReconnectMixin, Psycopg3Database):
    """PostgreSQL through psycopg 3. Like SQLite, each thread keeps its own connection (the threads are
    few and long-lived: the writer, the read pool, the scheduler), so there is no pool to size here.

    A connection the server dropped (a restart, a managed database's failover, an idle timeout) is
    opened again by the next statement that finds it gone, outside a transaction; inside one the
    error stands (the writer then redoes its group, and a request is answered 503 and retried)."""

    reconnect_errors = (
        (pw.OperationalError, 'terminating connection'),
        (pw.OperationalError, 'server closed the connection'),
        (pw.OperationalError, 'connection is closed'),
        (pw.OperationalError, 'connection is lost'),
        (pw.OperationalError, 'consuming input failed'),
        (pw.InterfaceError, 'connection is closed'),
        (pw.InterfaceError, 'connection already closed'),
    )

    def execute_sql(self, sql, params=None, **kwargs):  # the mixin's own drops postgres_ext's keywords
        return self._reconnect(super(ReconnectMixin, self).execute_sql, sql, params, **kwargs)

    def _connect(self):
        conn = super()._connect()
        # jsonb comes back as its text, as SQLite's TEXT does: JSONField decodes both the same way
        # (decoded by the driver, a JSON string such as "a" would be indistinguishable from text).
        conn.adapters.register_loader('jsonb', TextLoader)
        return conn


def secure_data_dir(data_dir: Path) -> None:
    """Create the data folder readable by its owner only, and tighten one created looser before."""
    data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if data_dir.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        data_dir.chmod(PRIVATE_DIR_MODE)


def make_private(path: Path) -> None:
    """Mode 0600 for a SQLite file and its -wal and -shm companions (SQLite gives those the file's mode)."""
    for candidate in (path, path.with_name(path.name + '-wal'), path.with_name(path.name + '-shm')):
        if candidate.exists() and candidate.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
            candidate.chmod(PRIVATE_FILE_MODE)


def _create_sqlite_file(path: Path) -> None:
    # Created empty with mode 0600 first: sqlite3 would create it with the umask's mode (often 0644),
    # and SQLite gives the -wal and -shm files the mode of the database file.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    # auto_vacuum can only be chosen before the first page is written (and before WAL mode), so a new
    # file gets it here; not as a connection pragma, which on an existing file takes the write lock.
    conn = sqlite3.connect(path)
    try:
        conn.execute('PRAGMA auto_vacuum = INCREMENTAL')
        conn.execute('PRAGMA journal_mode = WAL')
    finally:
        conn.close()


def _unwrap(db: pw.Database | pw.DatabaseProxy) -> pw.Database:
    return db.obj if isinstance(db, pw.DatabaseProxy) else db


def dialect(db: pw.Database) -> migrations.Dialect:
    return migrations.POSTGRES if isinstance(_unwrap(db), pw.PostgresqlDatabase) else migrations.SQLITE


def is_sqlite(db: pw.Database) -> bool:
    return isinstance(_unwrap(db), pw.SqliteDatabase)


def json_text(db: pw.Database, column: pw.Field, key: str) -> pw.Node:
    """SQL for the text value of `column[key]` of a JSON text column."""
    if is_sqlite(db):
        return pw.fn.json_extract(column, '$."' + key.replace('"', '') + '"')
    return pw.NodeList((pw.SQL('('), column, pw.SQL(' ->> '), pw.Value(key), pw.SQL(')')), glue='')  # a jsonb column


def get_visible(model: type[pw.Model], condition: pw.Expression, project_ids: list[int] | None, missing: str):
    """The one row matching `condition` in `project_ids` (None: any project), or NotFound(`missing`)."""
    if project_ids is not None:
        condition &= model.project.in_(project_ids)
    row = model.get_or_none(condition)
    if row is None:
        raise NotFound(missing, 'id')
    return row


def schema_version(db: pw.Database) -> int:
    """The highest applied migration, 0 for an empty database."""
    if not db.table_exists('schema_migrations'):
        return 0
    row = SchemaMigration.select(pw.fn.MAX(SchemaMigration.version)).scalar()
    return row or 0


def migrate(db: pw.Database, target: int | None = None) -> list[int]:
    """Apply pending migrations up to `target` (default: all); return the versions applied."""
    if not db.table_exists('schema_migrations'):
        db.create_tables([SchemaMigration])
    current = schema_version(db)
    applied = []
    d = dialect(db)
    for module in migrations.all_migrations():
        if module.VERSION <= current or (target is not None and module.VERSION > target):
            continue
        with db.atomic():
            module.up(db, d)
            SchemaMigration.create(version=module.VERSION, name=module.NAME, applied_at=now_utc())
        log.info('applied migration %04d_%s', module.VERSION, module.NAME)
        applied.append(module.VERSION)
    return applied


def latest_version() -> int:
    return migrations.all_migrations()[-1].VERSION


_sync_file_range = getattr(ctypes.CDLL(None), 'sync_file_range', None) if sys.platform == 'linux' else None
SYNC_FILE_RANGE_WAIT_BEFORE, SYNC_FILE_RANGE_WRITE, SYNC_FILE_RANGE_WAIT_AFTER = 1, 2, 4  # <fcntl.h>


def start_file_writeback(fd: int, *, wait: bool = False) -> bool:
    """Start writing the file's dirty pages to disk; with `wait`, until they are written (data only: no
    journal commit, unlike fdatasync). False: the kernel refused it, or this is not Linux (then it is a
    no-op: the restart's sync simply has more to write)."""
    if _sync_file_range is None:
        return False
    flags = (
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER
        if wait
        else SYNC_FILE_RANGE_WRITE
    )
    return _sync_file_range(fd, ctypes.c_int64(0), ctypes.c_int64(0), flags) == 0


_kept_open: dict[Path, int] = {}


def _descriptor_kept_open(path: Path) -> int | None:
    """A read-only descriptor of the database file, opened once per process and never closed.

    Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
    included. Another process (a backup, the CLI) then believes it is the file's last user when it
    closes, checkpoints and deletes the WAL the server still writes to: committed events vanish.
    It happened when this was opened and closed every round (tests/test_storage.py keeps it away)."""
    path = path.resolve()
    if path not in _kept_open and path.exists():
        _kept_open[path] = os.open(path, os.O_RDONLY)
    return _kept_open.get(path)


class Checkpointer:
    """Copies the SQLite WAL back into the database file on its own thread, and watches the disk.

    SQLite's automatic checkpoint runs inside whichever COMMIT crosses its threshold, and with
    synchronous=NORMAL it syncs the file: every few thousand events the writer (and so every
    waiting ingest request) stalled behind it. Measured with wrk, 2.5 KB events, 64 connections:
    6,300 → 9,000 events/s with checkpoints moved here. PASSIVE checkpoints never block the writer.

    But PASSIVE alone let the WAL grow without bound under continuous writes (4.1 GB after 300,000
    events, issue #20): SQLite starts the WAL over only when a write begins while every frame is
    already copied back, and with commits arriving all the time the copy never catches up at that
    moment. So when the WAL holds more than WAL_RESTART_BYTES, `on_large_wal` asks the writer to
    run a RESTART checkpoint between two commits (see Writer.request_wal_restart).

    A PASSIVE round that cannot copy the whole WAL (commits keep arriving) syncs the WAL but not the
    database file: only a checkpoint that copies everything does, and that is the writer's RESTART.
    So that sync had to write out every page copied since the previous one, on the writer's thread,
    and it grew with the database (at 1,000 events/s: 22 ms at 0.4 GB, 58 ms at 1.5 GB, every 3 s;
    the p99 ack latency followed). Each round now starts the writeback of the pages it copied
    (`sync_file_range`, as PostgreSQL's checkpointer does: no SQLite lock). Before asking for a
    restart, it also copies what arrived during its round (`catch_up`) and waits for the writeback,
    so the restart copies and syncs only the last moment's pages: 2-8 ms at any size, during
    retention's deletes too (which dirty pages all over the file: 43-88 ms before). A blocking
    `fdatasync` every round instead slowed the writer's own WAL writes. Durability is unchanged:
    SQLite's own syncs still decide it.

    Each round also records the WAL's size, for health.
    """

    def __init__(
        self,
        path: Path,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        on_large_wal: Callable[[], None] | None = None,
        wal_restart_bytes: int = WAL_RESTART_BYTES,
        is_restart_pending: Callable[[], bool] | None = None,
    ):
        self.path = path
        self.interval_s = interval_s
        self.on_large_wal = on_large_wal
        self.wal_restart_bytes = wal_restart_bytes
        # While the writer has a restart to do, this thread runs no checkpoint of its own: two
        # checkpoints cannot run at once, and the writer's would then find SQLite busy.
        self.is_restart_pending = is_restart_pending or (lambda: False)
        self.wal_bytes = 0  # size of the -wal file at the last round
        self._fd: int | None = None  # the database file, for sync_file_range (see start)
        self._page_size: int | None = None
        self._stop = threading.Event()
        self._thread = named_thread(self._run, 'pulsekit-checkpoint')

    def start(self) -> None:
        self.measure()
        self._fd = _descriptor_kept_open(self.path)
        self._thread.start()

    def stop(self) -> None:
        """Stop and leave the WAL folded into the database file (TRUNCATE)."""
        self._stop.set()
        self._thread.join(30)
        self.checkpoint('TRUNCATE')

    def checkpoint(self, mode: str = 'PASSIVE') -> tuple | None:
        """(busy, frames in the WAL, frames copied back), or None when SQLite was busy."""
        conn = sqlite3.connect(self.path, timeout=5)
        try:
            if self._page_size is None:
                self._page_size = conn.execute('PRAGMA page_size').fetchone()[0]
            return conn.execute(f'PRAGMA wal_checkpoint({mode})').fetchone()
        except sqlite3.OperationalError as exc:  # busy: the next round catches up
            log.debug('checkpoint %s skipped: %s', mode, exc)
            return None
        finally:
            conn.close()

    def start_writeback(self, *, wait: bool = False) -> None:
        """Have the OS write the pages this round copied into the file (see the class doc)."""
        if self._fd is not None:
            start_file_writeback(self._fd, wait=wait)

    def catch_up(self, copied: int) -> None:
        """Before a restart: copy, round after round, what the writer added meanwhile (each round is shorter
        than the last), then wait until the file's pages are on disk, so the restart, which holds the
        writer, has little left to copy or sync. `copied`: frames the last round had copied."""
        for _ in range(CATCH_UP_ROUNDS):
            result = self.checkpoint()
            if result is None:
                break
            self.start_writeback()
            is_close = result[2] - copied < CATCH_UP_DONE_FRAMES
            copied = result[2]
            if is_close:
                break
        self.start_writeback(wait=True)

    def measure(self) -> None:
        """Refresh wal_bytes."""
        try:
            self.wal_bytes = self.path.with_name(self.path.name + '-wal').stat().st_size
        except FileNotFoundError:
            self.wal_bytes = 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self.is_restart_pending():
                    self.measure()
                    continue
                result = self.checkpoint()
                self.measure()
                frames_in_wal = result[1] if result else 0
                is_large = frames_in_wal * (self._page_size or 4096) > self.wal_restart_bytes
                if self.on_large_wal and is_large:
                    self.catch_up(result[2])
                    self.on_large_wal()
                else:
                    self.start_writeback()
            except Exception:  # a task boundary: log it and keep going
                log.exception('WAL checkpoint failed')
