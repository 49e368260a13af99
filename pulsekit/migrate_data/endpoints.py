"""Where `pulsekit migrate-data` copies from and to: the URLs, opening both databases, and the
checks that make it refuse before anything is changed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee as pw

from ..backup import BackupError, is_open_elsewhere
from ..config import Settings
from ..db import latest_version, open_database
from ..models import MODELS, SchemaMigration


class MigrateDataError(Exception):
    """A copy that cannot be done; the message says why and what to do. Nothing was changed."""


def redact(url: str) -> str:
    """The URL without its password, for output and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit('@', 1)
    return urlunsplit(parts._replace(netloc=netloc[0].split(':', 1)[0] + ':***@' + netloc[1]))


def url_kind(url: str, option: str) -> str:
    """'sqlite' or 'postgres' for a well-formed URL; MigrateDataError naming `option` otherwise."""
    scheme = urlsplit(url).scheme
    if scheme == 'sqlite':
        if not sqlite_path(url).name:
            raise MigrateDataError(
                f'{option} {redact(url)}: give the database file, e.g. sqlite:////var/lib/pulsekit/pulsekit.db'
            )
        return 'sqlite'
    if scheme in ('postgres', 'postgresql'):
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError:
            raise MigrateDataError(f'{option} {redact(url)}: the port must be a number') from None
        if not parts.path.strip('/') or '/' in parts.path.strip('/'):
            raise MigrateDataError(
                f'{option} {redact(url)}: name the database, e.g. postgresql://user:pass@host:5432/pulsekit'
            )
        return 'postgres'
    raise MigrateDataError(
        f'{option} {redact(url)!r} is not a database URL: use sqlite:///relative/path.db, sqlite:////absolute/path.db '
        'or postgresql://user:pass@host:5432/db'
    )  # fmt: skip


def sqlite_path(url: str) -> Path:
    """The file of a sqlite:// URL."""
    # Peewee's (and SQLAlchemy's) convention: sqlite:///data/pulsekit.db is relative, sqlite:////srv/x.db absolute.
    return Path(url.split('://', 1)[1][1:].split('?', 1)[0])


def open_source(url: str, kind: str) -> pw.Database:
    """The database to copy from, connected; an existing SQLite file that no server has open."""
    if kind == 'postgres':
        return connect(url, open_database(Settings(database_url=url)))
    path = sqlite_path(url)
    if not path.is_file():
        raise MigrateDataError(f'--from: no SQLite database at {path.resolve()} (sqlite:////… for an absolute path)')
    try:
        in_use = is_open_elsewhere(path)
    except BackupError as exc:
        raise MigrateDataError(str(exc)) from None
    if in_use:
        raise MigrateDataError(
            f'{path} is in use: stop the server first, or the events it accepts during the copy are lost'
        )
    # Not open_database: that would create a missing file; and the source is only read.
    return connect(url, pw.SqliteDatabase(str(path), pragmas={'busy_timeout': 5000}))


def open_target(url: str, kind: str) -> pw.Database:
    """The database to copy into, connected (a SQLite file is created as the server creates it)."""
    if kind == 'postgres':
        return connect(url, open_database(Settings(database_url=url)))
    path = sqlite_path(url).resolve()
    # A new file gets the server's own settings (mode 0600, WAL, incremental auto-vacuum).
    return connect(url, open_database(Settings(data_dir=path.parent, database_path=path)))


def connect(url: str, db: pw.Database) -> pw.Database:
    """`db` connected, or MigrateDataError saying which URL could not be reached."""
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        raise MigrateDataError(f'cannot connect to {redact(url)}: {str(exc).strip()}') from None
    return db


def schema_version_of(db: pw.Database) -> int:
    """The highest migration applied to `db` (0: none). Bound explicitly: source and target are both open."""
    if not db.table_exists(SchemaMigration._meta.table_name):
        return 0
    return SchemaMigration.select(pw.fn.MAX(SchemaMigration.version)).bind(db).scalar() or 0


def check_source_version(source: pw.Database, url: str) -> None:
    """Refuse a source that is not a PulseKit database of exactly this code's schema version."""
    try:
        version = schema_version_of(source)
    except pw.DatabaseError as exc:
        raise MigrateDataError(f'--from {redact(url)} is not a PulseKit database: {exc}') from None
    if version == 0:
        raise MigrateDataError(f'--from {redact(url)} is not a PulseKit database (no schema_migrations)')
    if version < latest_version():
        raise MigrateDataError(
            f'the source has schema version {version}, this PulseKit {latest_version()}: upgrade it first with '
            '`pulsekit migrate` (DATABASE_PATH=… or --data-dir pointing at it), then copy'
        )
    if version > latest_version():
        raise MigrateDataError(f'the source has schema version {version}, newer than this PulseKit '
                               f'({latest_version()}): copy it with the PulseKit version that wrote it')  # fmt: skip


def check_target_empty(target: pw.Database) -> None:
    """Refuse a target that holds any row (the migration history aside) or has a newer schema."""
    if schema_version_of(target) > latest_version():
        raise MigrateDataError('the target was migrated by a newer PulseKit: copy with that version')
    for model in MODELS:
        if model is SchemaMigration or not target.table_exists(model._meta.table_name):
            continue
        if model.select().bind(target).limit(1).exists():
            raise MigrateDataError(
                f'the target already holds data (table {model._meta.table_name} is not empty): '
                'copy into a new, empty database (createdb) so nothing is overwritten'
            )
