"""A real PulseKit server (`pulsekit serve`, tests/server.py) on 127.0.0.1 with a fresh data folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..server import ServerProcess, pulsekit_cli


@dataclass
class LiveServer:
    process: ServerProcess
    project_id: int
    key: str  # ingest + read on the project

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def data_dir(self) -> Path:
        return self.process.data_dir

    @property
    def dsn(self) -> str:
        return f'http://{self.key}@127.0.0.1:{self.port}/{self.project_id}'

    def log(self) -> str:
        return self.process.log()

    def cli(self, *args: str) -> dict:
        """Run `pulsekit … --json` on this server's data folder (while it runs, as an operator would)."""
        return json.loads(pulsekit_cli(self.data_dir, *args, '--json').stdout)

    def create_project(self, name: str) -> tuple[int, str]:
        """A new project and an ingest+read key for it: (project id, key)."""
        project = self.cli('project', 'create', name)
        key = self.cli('key', 'create', '--project', project['slug'], '--permissions', 'ingest,read')
        return project['id'], key['key']

    def events(self, key: str | None = None, **params) -> list[dict]:
        """Stored events through the read API (GET /api/v1/events), newest first."""
        response = httpx.get(
            f'{self.url}/api/v1/events', params=params, headers={'X-PulseKit-Key': key or self.key}, timeout=10
        )
        response.raise_for_status()
        return response.json()['events']


def start_server(data_dir: Path, env: dict | None = None) -> LiveServer:
    """Create a project and key, then start the server (stop it with `server.process.terminate()`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    project = json.loads(pulsekit_cli(data_dir, 'project', 'create', 'Shop', '--json').stdout)
    key = json.loads(
        pulsekit_cli(data_dir, 'key', 'create', '--project', 'shop', '--permissions', 'ingest,read', '--json').stdout
    )
    return LiveServer(ServerProcess(data_dir, env).start(), project['id'], key['key'])


@pytest.fixture(scope='module')
def live_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp('pulsekit'))
    yield server
    server.process.terminate()
