"""`pulsekit migrate-data`: a real SQLite instance (CLI, `pulsekit demo`, HTTP ingest, alerts, labels)
copied into PostgreSQL as a user would, then served from there.

The source instance is built once per module and only read afterwards; every test copies it into
its own fresh PostgreSQL database (the `database_url` fixture, also exported as DATABASE_URL).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from pulsekit.config import Settings
from pulsekit.db import latest_version, migrate, open_database

from .alert_support import Receiver
from .alert_support import ServerProcess as StoppedServer  # stopped with SIGTERM, as a user stops it
from .server import ServerProcess
from .test_browser import EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (browser is a fixture)

WAIT_S = 15.0
SQLITE_ONLY_ENV = {'DATABASE_URL': ''}  # the source instance: SQLite, whatever this run's database is
# SQLite's own tables (sequence, stat1) and the full-text index with its mark (the target builds its own).
NOT_COPIED = ('sqlite_', 'events_fts', 'search_index_state')


def pulsekit(data_dir: Path, *args: str, env: dict | None = None, stdin: str | None = None, check: bool = True):
    """`pulsekit ARGS --data-dir DATA_DIR` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, '-m', 'pulsekit.cli', *args, '--data-dir', str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def migrate_data(source: str, target: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """`pulsekit migrate-data --from SOURCE --to TARGET` as a user runs it; with `check`, it must succeed."""
    result = subprocess.run(
        [sys.executable, '-m', 'pulsekit.cli', 'migrate-data', '--from', source, '--to', target, *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert not check or result.returncode == 0, result.stderr
    return result


def wait_for(predicate, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f'timed out waiting for {what}')


def error(message: str, exc_type: str) -> dict:
    return {
        'id': str(uuid.uuid4()),
        'type': 'error',
        'level': 'error',
        'message': message,
        'exception': {'type': exc_type, 'value': message},
        'tags': {'region': 'eu-west', 'plan': 'pro'},
        'metadata': {'order': {'id': 991, 'items': [1, 2.5, 'x', None, True]}, 'note': 'ünïcödé ✓'},
        'user': {'id': '42', 'email': 'ann@example.com'},
        'stacktrace': {'frames': [{'filename': 'shop/pay.py', 'function': 'charge', 'lineno': 7, 'in_app': True}]},
    }


@dataclass
class Instance:
    data_dir: Path
    path: Path
    keys: dict[str, str]  # project slug → a key with ingest, read (and admin for the shop) permissions
    rule_id: int
    snapshot: dict[str, tuple[str, object]]  # read-API path → (key, its JSON answer on the SQLite server)

    @property
    def url(self) -> str:
        return f'sqlite:///{self.path}'  # sqlite:// + an absolute path: four slashes

    def headers(self, key: str) -> dict:
        return {'X-PulseKit-Key': self.keys[key]}

    def answer(self, path: str):
        return self.snapshot[path][1]

    def get(self, base_url: str, path: str, key: str):
        response = httpx.get(base_url + path, headers=self.headers(key), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        tables = [n for n in names if not n.startswith(NOT_COPIED)]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def postgres_counts(url: str, tables) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.fixture(scope='module')
def receiver():
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture(scope='module')
def instance(tmp_path_factory, receiver) -> Instance:
    """A SQLite instance with something in every table, and read-API answers to compare against."""
    data_dir = tmp_path_factory.mktemp('source') / 'data'
    cli = lambda *args, **kw: json.loads(pulsekit(data_dir, *args, '--json', env=SQLITE_ONLY_ENV, **kw).stdout)  # noqa: E731
    cli('user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    cli('user', 'create', 'member@example.com', '--password-stdin', stdin='member password\n')
    shop = cli('project', 'create', 'Shop')
    keys = {'shop': cli('key', 'create', '--project', 'shop', '--permissions', 'ingest,read,admin')['key']}
    demo = cli('demo', '--events', '1500', '--days', '3')
    keys['web-shop'] = demo['key']
    path = data_dir / 'pulsekit.db'
    with _database(data_dir):
        from pulsekit.instance_settings import set_setting

        set_setting('allow_private_webhook_targets', True)  # the receiver is on 127.0.0.1
        set_setting('instance_name', 'Copied PulseKit')

    with StoppedServer(data_dir, env=SQLITE_ONLY_ENV) as server:
        headers = {'X-PulseKit-Key': keys['shop']}
        rule = httpx.post(f'{server.url}/api/v1/alert-rules', headers=headers, timeout=10, json={
            'project': shop['id'], 'name': 'New errors', 'rule_type': 'new_error',
            'webhook_url': receiver.url, 'cooldown_s': 0,
        })  # fmt: skip
        assert rule.status_code == 201, rule.text
        rule_id = rule.json()['id']
        batch = [
            error('card declined', 'CardError'),
            error('card declined', 'CardError'),
            error('no stock', 'StockError'),
        ]
        sent = httpx.post(f'{server.url}/api/v1/events/batch', json={'events': batch}, headers=headers, timeout=10)
        assert sent.status_code == 202, sent.text
        deliveries = f'{server.url}/api/v1/alert-rules/{rule_id}/deliveries'

        def delivered():
            found = httpx.get(deliveries, headers=headers, timeout=10).json()['deliveries']
            return len(found) == 2 and all(d['status'] == 'delivered' for d in found)

        wait_for(delivered, 'two webhook deliveries')
        refused = migrate_data(f'sqlite:///{path}', 'postgresql://nobody@127.0.0.1:1/x', check=False)
        assert refused.returncode == 1 and 'stop the server first' in refused.stderr  # or its new events are lost
    # Things only the dashboard does (no CLI or API for them): done the way its pages do them.
    with _database(data_dir):
        from pulsekit.events.issues import set_issue_status
        from pulsekit.events.tag_keys import set_tag_key
        from pulsekit.labels import create_label, label_issues
        from pulsekit.login_sessions import open_session
        from pulsekit.models import Issue, User
        from pulsekit.users import session_stamp

        issues = [i.id for i in Issue.select().where(Issue.project == shop['id']).order_by(Issue.id)]
        label = create_label(shop['id'], 'payments', '#aa3300')
        label_issues(issues[:1], label['id'], add=True)
        set_tag_key(shop['id'], 'plan', is_pinned=True)
        set_issue_status(issues[1:], 'resolve')
        admin = User.select().order_by(User.id).first()
        open_session('a-logged-in-browser', admin.id, session_stamp(admin))  # as /login/finish does
    instance = Instance(data_dir, path, keys, rule_id, {})
    with StoppedServer(data_dir, env=SQLITE_ONLY_ENV) as server:  # what the API answers before the copy
        snapshot = {
            '/api/v1/events?limit=100': 'web-shop',
            '/api/v1/issues?limit=100': 'web-shop',
            '/api/v1/events': 'shop',
            '/api/v1/events?q=division&limit=100': 'web-shop',  # full-text search: the target's own index
            '/api/v1/events?tag=region:eu-west&level=error&limit=100': 'web-shop',
            '/api/v1/issues': 'shop',
            f'/api/v1/alert-rules/{rule_id}/firings': 'shop',
            f'/api/v1/alert-rules/{rule_id}/deliveries': 'shop',
            f'/api/v1/projects/{shop["slug"]}': 'shop',
        }
        instance.snapshot = {p: (key, instance.get(server.url, p, key)) for p, key in snapshot.items()}
    lists = ('events', 'issues', 'firings', 'deliveries')
    empty = [p for p, (_, answer) in instance.snapshot.items() if any(answer.get(k) == [] for k in lists)]
    assert not empty, f'answers with nothing to compare: {empty}'
    counts = sqlite_counts(path)
    assert all(counts.values()), f'the source instance leaves tables empty: {counts}'
    return instance


class _database:
    """The instance's SQLite database opened in this process (the server is stopped)."""

    def __init__(self, data_dir: Path):
        self.db = open_database(Settings(data_dir=data_dir))

    def __enter__(self):
        self.db.connect(reuse_if_open=True)
        return self.db

    def __exit__(self, *exc):
        self.db.close()


# -- the copy -------------------------------------------------------------------------------
@pytest.mark.postgres_only
def test_a_copied_instance_has_every_row_and_serves_from_postgresql(instance, database_url, tmp_path, browser):  # noqa: F811
    source_counts = sqlite_counts(instance.path)
    result = migrate_data(instance.url, database_url, '--json')
    report = json.loads(result.stdout)
    assert report['tables'] == source_counts  # every table of the schema, every row
    assert postgres_counts(database_url, source_counts) == source_counts
    assert report['rows'] == sum(source_counts.values())

    with ServerProcess(tmp_path / 'pg-data') as server:  # on DATABASE_URL: this test's PostgreSQL database
        for path, (key, answer) in instance.snapshot.items():  # events, issues, firings… field by field
            assert instance.get(server.url, path, key) == answer, path

        # A new event of a known error joins its issue; a new error opens an issue, fires the rule and
        # is delivered: the events, issues, firings and deliveries sequences continue past the copied ids.
        card_issue = next(i for i in instance.answer('/api/v1/issues')['issues'] if 'card declined' in i['title'])
        known, new = error('card declined', 'CardError'), error('gift card expired', 'GiftCardError')
        for body in (known, new):
            sent = httpx.post(f'{server.url}/api/v1/events', json=body, headers=instance.headers('shop'), timeout=10)
            assert sent.status_code == 202, sent.text
        assert instance.get(server.url, f'/api/v1/events/{known["id"]}', 'shop')['issue_id'] == card_issue['id']
        issue = instance.get(server.url, f'/api/v1/issues/{card_issue["id"]}', 'shop')
        assert issue['event_count'] == card_issue['event_count'] + 1
        new_issue_id = instance.get(server.url, f'/api/v1/events/{new["id"]}', 'shop')['issue_id']
        assert new_issue_id == max_id(instance.path, 'issues') + 1
        deliveries = f'/api/v1/alert-rules/{instance.rule_id}/deliveries'

        def delivered():
            found = instance.get(server.url, deliveries, 'shop')['deliveries']
            return len(found) == 3 and all(d['status'] == 'delivered' for d in found)

        wait_for(delivered, 'the new issue to be delivered')
        with psycopg.connect(database_url) as conn:
            [seq] = conn.execute('SELECT seq FROM events WHERE id = %s', (new['id'],)).fetchone()
        assert seq > max_id(instance.path, 'events', 'seq')
        project = json.loads(pulsekit(tmp_path / 'pg-data', 'project', 'create', 'After', '--json').stdout)
        assert project['id'] == max_id(instance.path, 'projects') + 1

        page = new_page(browser)
        log_in(page, server.url)  # the copied password hash, a session on PostgreSQL
        page.goto(f'{server.url}/issues')
        page.get_by_text('gift card expired').first.wait_for()
        assert not page.js_errors


def sqlite_row(path: Path, sql: str, params: tuple = ()) -> tuple:
    """One row, on a connection closed right away (an open one looks like a running server)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def max_id(path: Path, table: str, column: str = 'id') -> int:
    return sqlite_row(path, f'SELECT MAX({column}) FROM {table}')[0]


def sqlite_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table (sqlite_sequence included), in a stable order, JSON documents parsed
    (PostgreSQL's jsonb keeps an object's keys in an order of its own)."""
    conn = sqlite3.connect(path)
    try:
        tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: sorted((tuple(_parsed(v) for v in row) for row in conn.execute(f'SELECT * FROM "{t}"')), key=repr)
            for t in tables
            if not t.startswith('events_fts')
        }
    finally:
        conn.close()


def _parsed(value):
    if isinstance(value, str) and value[:1] in ('{', '['):
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:  # a message that merely starts with a bracket
            pass
    return value


def search(path: Path, words: str) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [
            r for (r,) in conn.execute('SELECT rowid FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid', (words,))
        ]
    finally:
        conn.close()


@pytest.mark.postgres_only
def test_copying_back_to_sqlite_gives_the_same_database_row_for_row(instance, empty_settings, tmp_path):
    created_only = empty_settings.database_url  # `createdb` and nothing else: the command migrates it
    migrate_data(instance.url, created_only)
    back = tmp_path / 'back' / 'pulsekit.db'
    report = json.loads(migrate_data(created_only, f'sqlite:///{back}', '--json').stdout)
    assert report['rows'] == sum(sqlite_counts(instance.path).values())
    # Every value of every table survived both conversions (times, JSON, UUIDs, booleans), the issue
    # counts were not counted twice by the target's triggers, and AUTOINCREMENT continues where it was.
    assert sqlite_rows(back) == sqlite_rows(instance.path)
    assert search(back, 'declined') == search(instance.path, 'declined') != []
    assert back.stat().st_mode & 0o777 == 0o600


# -- refusals: exit 1, one clear line, nothing changed --------------------------------------------
def refused(source: str, target: str) -> str:
    result = migrate_data(source, target, '--json', check=False)
    assert result.returncode == 1 and result.stdout == '' and 'Traceback' not in result.stderr, result.stderr
    return result.stderr


@pytest.mark.postgres_only
def test_a_target_that_already_holds_data_is_refused_and_left_alone(instance, database_url):
    migrate_data(instance.url, database_url)
    counts = sqlite_counts(instance.path)
    message = refused(instance.url, database_url)
    assert 'already holds data' in message and 'empty database' in message
    assert postgres_counts(database_url, counts) == counts


@pytest.mark.postgres_only
@pytest.mark.parametrize(('offset', 'expected'), [(-1, 'run `pulsekit migrate`'), (1, 'newer than this PulseKit')])
def test_a_source_of_another_schema_version_is_refused(tmp_path, database_url, offset, expected):
    path = tmp_path / 'data' / 'pulsekit.db'
    db = open_database(Settings(data_dir=path.parent))
    version = latest_version() + offset  # one behind, or one ahead of this PulseKit
    with db.connection_context():
        migrate(db, target=min(version, latest_version()))
        if version > latest_version():
            db.execute_sql(f"INSERT INTO schema_migrations VALUES ({version}, 'from_the_future', 0)")
    message = refused(f'sqlite:///{path}', database_url)
    assert expected in message.replace('upgrade it first with `pulsekit migrate`', 'run `pulsekit migrate`')
    with psycopg.connect(database_url) as conn:  # the target was not even opened
        assert conn.execute('SELECT COUNT(*) FROM projects').fetchone() == (0,)


@pytest.mark.parametrize(
    ('source', 'target', 'expected'),
    [
        ('mysql://u@h/db', 'postgresql://u@127.0.0.1:1/db', 'is not a database URL'),
        ('/srv/pulsekit.db', 'postgresql://u@127.0.0.1:1/db', 'is not a database URL'),
        ('sqlite://', 'postgresql://u@127.0.0.1:1/db', 'give the database file'),
        (
            'sqlite:////nowhere/pulsekit.db',
            'postgresql://u@127.0.0.1:1/db',
            'no SQLite database at /nowhere/pulsekit.db',
        ),
        ('sqlite:////nowhere/a.db', 'postgresql://u:secret@127.0.0.1:1', 'name the database'),
        ('sqlite:////nowhere/a.db', 'postgresql://u@127.0.0.1:port/db', 'the port must be a number'),
        ('sqlite:////nowhere/a.db', 'sqlite:////nowhere/b.db', 'use pulsekit backup'),
        ('postgresql://u@127.0.0.1:1/a', 'postgresql://u@127.0.0.1:1/b', 'pg_dump'),
    ],
)
def test_malformed_urls_are_refused_with_the_fix(source, target, expected):
    message = refused(source, target)
    assert expected in message and 'secret' not in message


def test_an_unreachable_target_is_refused(tmp_path):
    path = tmp_path / 'data' / 'pulsekit.db'
    db = open_database(Settings(data_dir=path.parent))
    with db.connection_context():
        migrate(db)
    assert 'cannot connect to postgresql://u:***@127.0.0.1:1/db' in refused(
        f'sqlite:///{path}', 'postgresql://u:secret@127.0.0.1:1/db'
    )


def edited_copy(instance: Instance, folder: Path, *statements: tuple[str, tuple]) -> Path:
    """A copy of the instance's database with `statements` run on it (data an older version or a hand
    edit could have left)."""
    path = folder / 'pulsekit.db'
    folder.mkdir()
    src, dst = sqlite3.connect(instance.path), sqlite3.connect(path)
    try:
        src.backup(dst)
        for sql, params in statements:
            dst.execute(sql, params)
        dst.commit()
    finally:
        src.close()
        dst.close()
    return path


@pytest.mark.postgres_only
def test_nul_characters_an_older_version_stored_in_sqlite_arrive_as_replacement_characters(
    instance, database_url, tmp_path
):
    # Ingestion replaces NUL (which PostgreSQL cannot store) since PostgreSQL support; older SQLite
    # instances may hold some, and a single one must not fail the whole copy.
    first = '(SELECT id FROM events ORDER BY seq LIMIT 1)'
    path = edited_copy(
        instance,
        tmp_path / 'older',
        (f'UPDATE events SET message = ?, metadata = ? WHERE id = {first}',
         ('before\x00after', json.dumps({'note': 'a\x00b', 'kept': '\\u0000 as typed'}))),
        ("UPDATE projects SET name = ? WHERE slug = 'shop'", ('Shop\x00',)),
    )  # fmt: skip
    [event_id] = sqlite_row(path, f'SELECT id FROM events WHERE id = {first}')
    migrate_data(f'sqlite:///{path}', database_url)
    with psycopg.connect(database_url) as conn:
        message, metadata = conn.execute(
            'SELECT message, metadata::text FROM events WHERE id = %s', (uuid.UUID(event_id),)
        ).fetchone()
        [name] = conn.execute("SELECT name FROM projects WHERE slug = 'shop'").fetchone()
    assert message == 'before\ufffdafter' and name == 'Shop\ufffd'
    assert json.loads(metadata) == {'note': 'a\ufffdb', 'kept': '\\u0000 as typed'}


@pytest.mark.postgres_only
def test_a_copy_that_fails_half_way_leaves_no_rows_and_can_be_run_again(instance, database_url, tmp_path):
    # SQLite does not enforce VARCHAR lengths, PostgreSQL does: a value too long for its column (as a
    # hand edit could leave) fails the events, after every earlier table was already written.
    seq = max_id(instance.path, 'events', 'seq')
    path = edited_copy(
        instance, tmp_path / 'edited', ('UPDATE events SET environment = ? WHERE seq = ?', ('x' * 65, seq))
    )
    message = refused(f'sqlite:///{path}', database_url)
    assert 'rolled back' in message and 'run the command again' in message and 'too long' in message
    counts = sqlite_counts(instance.path)
    migrated_but_empty = {t: 0 for t in counts} | {'schema_migrations': counts['schema_migrations']}
    assert postgres_counts(database_url, counts) == migrated_but_empty

    conn = sqlite3.connect(path)
    conn.execute("UPDATE events SET environment = 'production' WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    assert json.loads(migrate_data(f'sqlite:///{path}', database_url, '--json').stdout)['tables'] == counts


@pytest.mark.postgres_only
def test_ids_of_deleted_rows_are_never_handed_out_again(instance, database_url, tmp_path):
    # SQLite's AUTOINCREMENT remembers the highest id ever used; the alert evaluator's progress is an
    # event seq. Retention deleted the newest events here: new ones must still come after them.
    seq, counter = sqlite_row(
        instance.path, "SELECT MAX(seq), (SELECT seq FROM sqlite_sequence WHERE name = 'events') FROM events"
    )
    path = edited_copy(instance, tmp_path / 'pruned', ('DELETE FROM events WHERE seq > ?', (seq - 5,)))
    migrate_data(f'sqlite:///{path}', database_url)
    with psycopg.connect(database_url) as conn:
        [next_seq] = conn.execute("SELECT nextval(pg_get_serial_sequence('events', 'seq'))").fetchone()
    assert next_seq == max(seq, counter) + 1
