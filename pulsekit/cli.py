"""The `pulsekit` command: serve, migrate, project, key, user, prune, backup, restore, migrate-data.

Every subcommand has --help, prints clear errors to stderr, exits non-zero on failure and
prints machine-readable output with --json.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .config import ConfigError, Settings, load_settings
from .errors import PulseKitError

EXIT_FAILURE = 1


class CommandError(Exception):
    """A failure to report to the user as one line, without a traceback."""


def _emit(args, payload: dict, text: str) -> None:
    print(json.dumps(payload, indent=2) if args.json else text)


def _settings(args) -> Settings:
    settings = load_settings()
    overrides = {}
    if getattr(args, 'data_dir', None):
        overrides['data_dir'] = Path(args.data_dir)
    for name in ('host', 'port'):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return settings.with_overrides(**overrides)


def _open_db(args) -> tuple[Settings, object]:
    from .db import migrate, open_database

    settings = _settings(args)
    db = open_database(settings)
    db.connect(reuse_if_open=True)
    migrate(db)
    return settings, db


# -- commands ------------------------------------------------------------------------------
def cmd_serve(args) -> None:
    import uvicorn

    from .app import create_app
    from .logs import configure_logging
    from .server_address import clear_address, record_address
    from .serving import uvicorn_options

    settings = _settings(args)
    configure_logging()  # INFO, without the scheduler's per-second lines, secrets redacted (logs.py)
    app = create_app(settings)
    tune_garbage_collector()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    print(f'PulseKit {__version__} on http://{settings.host}:{settings.port} (data: {settings.data_dir})', flush=True)
    record_address(settings.data_dir, settings.host, settings.port)  # `key create` and `demo --live` read it
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            **uvicorn_options(settings),
            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; only the configured proxies here.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies) or None,
        )
    finally:
        clear_address(settings.data_dir)


# Objects per collection of the youngest generation, and collections before the next older one is swept.
GC_THRESHOLDS = (50_000, 20, 100)
# How long a thread that wants the GIL waits before the holder must hand it over (Python's default: 5 ms).
# The writer thread comes back from every SQLite statement wanting it while the event loop runs; at
# 1 ms single-event ingest measured ~7% faster (benchmarks/ingest.py, four alternating runs each).
GIL_SWITCH_INTERVAL_S = 0.001


def tune_garbage_collector() -> None:
    """Fewer, cheaper cyclic GC passes for a server whose requests allocate thousands of small containers.

    With the default thresholds (700, 10, 10), parsing and validating events triggered collections
    that walked every object NiceGUI and FastAPI had loaded; measured with benchmarks/ingest.py in one
    run: batch ingest 40% → 55% of the sqlite3 ceiling, single-event p99 74 → 26 ms. Freezing moves
    what start-up created out of the collector's way for good.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def cmd_migrate(args) -> None:
    from .db import latest_version, migrate, open_database, schema_version

    settings = _settings(args)
    db = open_database(settings)
    with db.connection_context():
        applied = migrate(db)
        version = schema_version(db)
    _emit(
        args,
        {'applied': applied, 'version': version, 'latest': latest_version()},
        f'applied {len(applied)} migration(s); schema version {version}',
    )


def cmd_project_create(args) -> None:
    from .projects import create_project

    _open_db(args)
    project = create_project(args.name, retention_days=args.retention_days)
    _emit(
        args,
        {'id': project.id, 'name': project.name, 'slug': project.slug},
        f'created project {project.name!r}: id {project.id}, slug {project.slug}',
    )


def cmd_project_list(args) -> None:
    from .models import Project

    _open_db(args)
    rows = [{'id': p.id, 'name': p.name, 'slug': p.slug} for p in Project.select().order_by(Project.id)]
    text = '\n'.join(f'{r["id"]:>4}  {r["slug"]:<30} {r["name"]}' for r in rows) or 'no projects yet'
    _emit(args, {'projects': rows}, text)


def cmd_key_create(args) -> None:
    from .instance_settings import public_url
    from .projects import create_key, dsn_for, find_project

    settings, _ = _open_db(args)
    project = find_project(args.project)
    row, key = create_key(project, args.name, args.permissions)
    # The instance's public URL (Settings page, else PULSEKIT_BASE_URL, else host:port) as users reach it.
    dsn = dsn_for(key, project.id, public_url(settings))
    payload = {
        'id': row.id,
        'project': project.slug,
        'project_id': project.id,
        'name': row.name,
        'key': key,
        'prefix': row.key_prefix,
        'permissions': sorted(row.permission_set),
        'dsn': dsn,
    }
    text = (
        f'created key {row.name!r} for {project.slug} ({row.permissions})\n\n'
        f'  key: {key}\n  DSN: {dsn}\n\nThe key is shown only now: store it somewhere safe.'
    )
    _emit(args, payload, key if args.quiet and not args.json else text)


def cmd_key_list(args) -> None:
    from .models import ApiKey
    from .projects import find_project

    _open_db(args)
    project = find_project(args.project)
    rows = [
        {
            'id': k.id,
            'name': k.name,
            'prefix': k.key_prefix,
            'permissions': sorted(k.permission_set),
            'revoked': k.revoked_at is not None,
        }
        for k in ApiKey.select().where(ApiKey.project == project).order_by(ApiKey.id)
    ]
    text = '\n'.join(
        f'{r["id"]:>4}  {r["prefix"]}…  {",".join(r["permissions"]):<20} {r["name"]}' + ('  (revoked)' * r['revoked'])
        for r in rows
    )
    _emit(args, {'keys': rows}, text or 'no keys')


def cmd_key_revoke(args) -> None:
    from .projects import revoke_key

    _open_db(args)
    row = revoke_key(args.key_id)
    _emit(args, {'id': row.id, 'revoked': True}, f'revoked key {row.id} ({row.key_prefix}…)')


def cmd_prune(args) -> None:
    from .instance_settings import default_retention_days
    from .retention import prune, writer_runner
    from .services import start_services

    services = start_services(_settings(args))
    try:
        report = prune(writer_runner(services.writer), default_retention_days(services.settings))
    finally:
        services.close()
    per_project = ', '.join(f'{slug}: {n}' for slug, n in report.projects.items())
    _emit(
        args,
        report.as_dict(),
        f'deleted {report.events_deleted} event(s)'
        + (f' ({per_project})' if per_project else '')
        + f', {report.issues_deleted} empty issue(s); freed {report.pages_freed} database page(s)',
    )


def _read_password(args) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip('\r\n')
    elif sys.stdin.isatty():
        password = getpass.getpass('Password: ')
        if password != getpass.getpass('Repeat password: '):
            raise CommandError('the passwords do not match')
    else:
        raise CommandError('no terminal to prompt for a password: pass --password-stdin and pipe it in')
    return password


def cmd_user_create(args) -> None:
    from .auth import create_user

    _open_db(args)
    password = _read_password(args)
    user = create_user(args.email, password, role='admin' if args.admin else 'member')
    _emit(
        args,
        {'id': user.id, 'email': user.email, 'role': user.role},
        f'created {user.role} {user.email}',
    )


def cmd_demo(args) -> None:
    from . import demo
    from .instance_settings import public_url
    from .projects import dsn_for
    from .server_address import serving_url
    from .services import start_services

    settings = _settings(args)
    if args.events < 1 or args.events > 5_000_000:
        raise CommandError('--events must be between 1 and 5,000,000')
    services = start_services(settings)
    width = 30

    def progress(done: int, total: int) -> None:
        if args.json:
            return
        filled = int(width * done / total)
        print(f'\r  [{"#" * filled}{"." * (width - filled)}] {done:,}/{total:,} events', end='', file=sys.stderr)

    try:
        with services.db.connection_context():
            if args.live and demo.has_demo_events():
                # Keep the data there is: --live only adds live events (with a key of its own).
                projects = demo.demo_projects()
                first = projects[demo.PROJECTS[0]]
                summary = {'projects': list(projects), 'events': 0, 'issues': None,
                           'key': demo.demo_key(first, 'demo live'), 'key_project_id': first.id}  # fmt: skip
            else:
                summary = demo.generate_demo(services.writer, args.events, args.days, progress=progress)
                if not args.json:
                    print(file=sys.stderr)
            # The server of this data directory (its real port), unless a public URL is configured.
            url = serving_url(settings.host, args.port) if args.port else public_url(settings)
    finally:
        services.close()
    dsn = dsn_for(summary['key'], summary['key_project_id'], url)
    if args.live:
        print(f'sending live events to {url} for {args.live} s (Ctrl-C stops)…', file=sys.stderr)
        try:
            summary['live_events'] = demo.send_live(
                url,
                summary['key'],
                args.live,
                on_sent=lambda n: print(f'\r  {n:,} live events sent', end='', file=sys.stderr),
            )
        except KeyboardInterrupt:
            pass
        print(file=sys.stderr)
    names = ', '.join(summary['projects'])
    seeded = (
        f'demo data ready: {summary["events"]:,} events in {names} ({summary["issues"]} issues)'
        if summary['events']
        else f'kept the demo data of {names}'
    )
    _emit(
        args,
        {**summary, 'dsn': dsn},
        f'{seeded}\nA demo key (ingest, read) for {summary["projects"][0]}: {summary["key"]}\n'
        'Open the dashboard (pulsekit serve) and log in.',
    )


# -- parser --------------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--data-dir', help='folder with the SQLite database (default: $PULSEKIT_DATA_DIR or ./data)')
    parser.add_argument('--json', action='store_true', help='print machine-readable JSON')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='pulsekit', description='PulseKit: self-hosted error and event tracking.')
    parser.add_argument('--version', action='version', version=f'pulsekit {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)

    def add(parent, name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(func=func)
        return p

    serve = add(sub, 'serve', cmd_serve, 'run the server (API and dashboard)')
    serve.add_argument('--host', help='interface to listen on (default: $PULSEKIT_HOST or 127.0.0.1)')
    serve.add_argument('--port', type=int, help='TCP port (default: $PULSEKIT_PORT or 4000)')

    add(sub, 'migrate', cmd_migrate, 'apply pending database migrations')

    project = sub.add_parser('project', help='manage projects').add_subparsers(
        dest='action', metavar='ACTION', required=True
    )
    p = add(project, 'create', cmd_project_create, 'create a project')
    p.add_argument('name', help='project name, e.g. "Web shop"')
    p.add_argument('--retention-days', type=int, help='keep events this many days (default: instance setting)')
    add(project, 'list', cmd_project_list, 'list projects')

    key = sub.add_parser('key', help='manage API keys').add_subparsers(dest='action', metavar='ACTION', required=True)
    p = add(key, 'create', cmd_key_create, 'create an API key (shown once) and its DSN')
    p.add_argument('--project', required=True, help='project slug or id')
    p.add_argument('--name', default='default', help='a label for the key, e.g. "web backend"')
    p.add_argument('--permissions', default='ingest', help='comma-separated: ingest,read,admin (default: ingest)')
    p.add_argument('--quiet', action='store_true', help='print only the key, e.g. KEY=$(pulsekit key create … --quiet)')
    p = add(key, 'list', cmd_key_list, "list a project's keys (prefixes only)")
    p.add_argument('--project', required=True, help='project slug or id')
    p = add(key, 'revoke', cmd_key_revoke, 'revoke a key')
    p.add_argument('key_id', type=int, help='the key id (see `pulsekit key list`)')

    from .cli_backup import register as register_backup  # here, not at the top: it imports this module

    register_backup(sub, add)

    from .cli_migrate_data import register as register_migrate_data  # imports this module too

    register_migrate_data(sub)

    add(sub, 'prune', cmd_prune, "delete events older than each project's retention now (the hourly job, by hand)")

    demo = add(sub, 'demo', cmd_demo, 'fill the instance with realistic sample projects, errors and events')
    demo.add_argument('--events', type=int, default=5000, help='how many events to create (default: 5000)')
    demo.add_argument('--days', type=int, default=7, help='spread them over this many past days (default: 7)')
    demo.add_argument(
        '--live',
        type=int,
        metavar='SECONDS',
        help='send a few events per second to the running server (pulsekit serve) for SECONDS; '
        'demo data already there is kept, not seeded again',
    )
    demo.add_argument(
        '--port', type=int, help='port of the running server for --live (default: where it serves this data directory)'
    )

    user = sub.add_parser('user', help='manage dashboard users').add_subparsers(
        dest='action', metavar='ACTION', required=True
    )
    p = add(user, 'create', cmd_user_create, 'create a dashboard user')
    p.add_argument('email')
    p.add_argument('--admin', action='store_true', help='give the user the admin role')
    p.add_argument('--password-stdin', action='store_true', help='read the password from standard input')
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CommandError, ConfigError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_FAILURE
    except PulseKitError as exc:
        where = f' ({exc.field})' if exc.field else ''
        print(f'error: {exc.message}{where}', file=sys.stderr)
        return EXIT_FAILURE
    return 0


if __name__ == '__main__':
    # `python -m pulsekit.cli` runs this file as __main__, a second copy of the module: the subcommands
    # in cli_backup.py and cli_migrate_data.py raise pulsekit.cli's CommandError, which only the
    # package module's main() catches (this copy's would print a traceback).
    from pulsekit.cli import main as package_main

    sys.exit(package_main())
