"""Shared fixtures: settings on a real SQLite file under tmp_path, and the production app over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from nicegui.testing import general

from pulsekit.app import create_app
from pulsekit.config import Settings
from pulsekit.projects import create_key, create_project
from pulsekit.services import Services


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / 'data')


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
