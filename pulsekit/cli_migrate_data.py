"""`pulsekit migrate-data --from URL --to URL`: the command-line side of migrate_data.py."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .cli import CommandError, _emit
from .migrate_data import MigrateDataError, copy_instance


def _progress_printer(is_tty: bool) -> Callable[[str, int, int], None]:
    def progress(table: str, done: int, total: int) -> None:
        if is_tty:  # one line per table, rewritten as the rows go in
            end = '\n' if done == total else ''
            print(f'\r  {table:<22} {done:>12,} / {total:,} rows', end=end, file=sys.stderr, flush=True)
        elif done == total or done == 0:  # logs: where it starts and where it ends, no carriage returns
            print(
                f'  {table:<22} {"copied" if done == total else "copying"} {total:,} rows', file=sys.stderr, flush=True
            )

    return progress


def cmd_migrate_data(args) -> None:
    progress = None if args.json else _progress_printer(sys.stderr.isatty())
    if not args.json:
        print(f'copying {args.source} → {args.target} (one transaction: all or nothing)', file=sys.stderr)
    try:
        report = copy_instance(args.source, args.target, progress=progress)
    except MigrateDataError as exc:
        raise CommandError(str(exc)) from None
    width = max(len(t) for t in report.tables)
    lines = [f'  {table:<{width}} {rows:>12,}' for table, rows in report.tables.items()]
    _emit(
        args,
        report.as_dict(),
        f'copied {report.rows:,} rows in {len(report.tables)} tables in {report.seconds:.1f} s '
        f'(schema version {report.schema_version}):\n' + '\n'.join(lines) + '\n'
        'Start the server with DATABASE_URL set to the target to use it.',
    )


def register(sub) -> None:
    """Add the subcommand to the `pulsekit` parser (no --data-dir: both databases are given as URLs)."""
    help_text = 'copy a whole instance from SQLite to an empty PostgreSQL database (or back); stop the server first'
    p = sub.add_parser('migrate-data', help=help_text, description=help_text)
    p.set_defaults(func=cmd_migrate_data)
    p.add_argument(
        '--from',
        dest='source',
        required=True,
        metavar='URL',
        help='the database to copy, e.g. sqlite:////var/lib/pulsekit/pulsekit.db (four slashes: absolute path)',
    )
    p.add_argument(
        '--to',
        dest='target',
        required=True,
        metavar='URL',
        help='an empty database, e.g. postgresql://pulsekit:secret@db.internal:5432/pulsekit (migrated first)',
    )
    p.add_argument('--json', action='store_true', help='print machine-readable JSON')
