"""`pulsekit backup PATH` and `pulsekit restore PATH`: the command-line side of backup.py."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .backup import BackupError, backup_database, restore_database
from .cli import CommandError, _emit, _settings


def cmd_backup(args) -> None:
    try:
        report = backup_database(_settings(args), Path(args.path))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    _emit(
        args,
        report.as_dict(),
        f'backed up {report.events:,} event(s) to {report.path} ({report.bytes:,} bytes)',
    )


def cmd_restore(args) -> None:
    try:
        report = restore_database(_settings(args), Path(args.path))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    kept = f'; the previous database is kept as {report.previous}' if report.previous else ''
    _emit(args, report.as_dict(), f'restored {report.events:,} event(s) into {report.path}{kept}')


def register(sub, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the two subcommands to the `pulsekit` parser."""
    p = add(sub, 'backup', cmd_backup, 'write a consistent copy of the SQLite database (safe while the server runs)')
    p.add_argument('path', help='the backup file to write (mode 0600), or a folder to put a dated file in')
    p = add(sub, 'restore', cmd_restore, 'replace the database with a backup (stop the server first)')
    p.add_argument('path', help='a file written by `pulsekit backup`')
