"""Shared fixtures: settings on a real database (a SQLite file under tmp_path, or with `--db postgres` a
fresh PostgreSQL database, see tests/databases.py), and the production app over ASGI."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from nicegui.testing import general

from pulsekit.app import create_app
from pulsekit.config import Settings
from pulsekit.projects import create_key, create_project
from pulsekit.services import Services

from .dashboard import admin, member, seeded  # noqa: F401  (fixtures for page tests)
from .databases import PostgresDatabases, settings_for


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        '--db',
        choices=('sqlite', 'postgres'),
        default='sqlite',
        help='database the server tests run on (postgres: TEST_DATABASE_URL, or a throwaway cluster)',
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line('markers', 'sqlite_only: tests SQLite mechanics (files, WAL, locks, backup)')
    config.addinivalue_line('markers', 'postgres_only: tests PostgreSQL mechanics (replicas, LISTEN/NOTIFY)')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Not a missing-toolchain skip: the test command runs the suite once per database, so every
    # test runs in one of the two runs.
    other = 'sqlite_only' if config.getoption('--db') == 'postgres' else 'postgres_only'
    for item in items:
        if other in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f'{other}: runs in the other --db run'))


@pytest.fixture(scope='session')
def postgres_databases(request: pytest.FixtureRequest) -> Iterator[PostgresDatabases | None]:
    if request.config.getoption('--db') != 'postgres':
        yield None
        return
    server_url = os.environ.get('TEST_DATABASE_URL')
    cluster = None
    if not server_url:
        from .pg_cluster import Cluster

        cluster = Cluster().start()
        server_url = cluster.url
    databases = PostgresDatabases(server_url)
    try:
        yield databases
    finally:
        databases.close()
        if cluster:
            cluster.stop()


@pytest.fixture(autouse=True)
def database_url(postgres_databases: PostgresDatabases | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """This test's database: None on SQLite (each instance has its file), else the emptied PostgreSQL one.

    Set as DATABASE_URL, so `pulsekit` subprocesses and `settings_for` use it as a user's would."""
    if postgres_databases is None:
        monkeypatch.delenv('DATABASE_URL', raising=False)
        yield None
        return
    monkeypatch.setenv('DATABASE_URL', postgres_databases.fresh())
    yield os.environ['DATABASE_URL']


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return settings_for(tmp_path / 'data')


@pytest.fixture
def empty_settings(tmp_path: Path, postgres_databases: PostgresDatabases | None) -> Iterator[Settings]:
    """Settings on a database without any table yet (the per-test PostgreSQL one is already migrated)."""
    if postgres_databases is None:
        yield Settings(data_dir=tmp_path / 'empty')
        return
    url = postgres_databases.empty()
    yield Settings(data_dir=tmp_path / 'empty', database_url=url)
    postgres_databases.drop(url)


@pytest.fixture(autouse=True)
def _data_dir_for_user_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/app_main.py (NiceGUI's `user` fixture) reads its data folder from here.
    monkeypatch.setenv('PULSEKIT_TEST_DATA_DIR', str(tmp_path / 'data'))


@dataclass
class ApiHarness:
    client: httpx.AsyncClient
    services: Services
    ingest_key: str
    read_key: str
    admin_key: str
    project_id: int

    def headers(self, key: str | None = None, **extra: str) -> dict:
        return {'X-PulseKit-Key': key or self.ingest_key, 'Content-Type': 'application/json', **extra}


async def start_api(settings: Settings) -> AsyncIterator[ApiHarness]:
    with general.nicegui_reset_globals():
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            services: Services = app.state.services
            with services.db.connection_context():
                project = create_project('Shop')
                _, ingest = create_key(project, 'ingest', ['ingest'])
                _, read = create_key(project, 'reader', ['read'])
                _, admin = create_key(project, 'admin', ['admin'])
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url='http://test') as client:
                yield ApiHarness(client, services, ingest, read, admin, project.id)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[ApiHarness]:
    """The production app (API on our FastAPI app, NiceGUI mounted) with a project and three keys."""
    async for harness in start_api(settings):
        yield harness


@pytest.fixture(autouse=True)
def _restore_nicegui_functions():
    # A leftover `User` re-patches ui.navigate/notify/download whenever it is touched; put the real
    # ones back so a later test (browser, production app) is not handed the simulated ones (stack notes §3).
    yield
    from nicegui import ui
    from nicegui.functions.download import download
    from nicegui.functions.navigate import Navigate
    from nicegui.functions.notify import notify

    ui.navigate = Navigate()
    ui.notify = notify
    ui.download = download
