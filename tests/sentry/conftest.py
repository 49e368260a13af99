"""A real PulseKit server (`pulsekit serve`, a uvicorn subprocess) on 127.0.0.1 with a fresh data folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30


@dataclass
class LiveServer:
    url: str
    port: int
    data_dir: Path
    project_id: int
    key: str  # ingest + read on the project

    @property
    def dsn(self) -> str:
        return f'http://{self.key}@127.0.0.1:{self.port}/{self.project_id}'

    def cli(self, *args: str) -> dict:
        """Run `pulsekit … --data-dir D --json` and return its JSON output."""
        out = subprocess.run(
            [str(BIN / 'pulsekit'), *args, '--data-dir', str(self.data_dir), '--json'],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return json.loads(out.stdout)

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

    def event(self, event_id: str, key: str | None = None) -> dict:
        response = httpx.get(f'{self.url}/api/v1/events/{event_id}', headers={'X-PulseKit-Key': key or self.key})
        response.raise_for_status()
        return response.json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, env: dict | None = None) -> tuple[subprocess.Popen, LiveServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    server = LiveServer('', 0, data_dir, 0, '')
    server.project_id, server.key = server.create_project('Shop')
    port = free_port()
    log = open(data_dir / 'server.log', 'wb')  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [str(BIN / 'pulsekit'), 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    server.url, server.port = f'http://127.0.0.1:{port}', port
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'pulsekit serve exited: {(data_dir / "server.log").read_text()[-2000:]}')
        try:
            if httpx.get(f'{server.url}/api/v1/health', timeout=1).status_code == 200:
                return process, server
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f'pulsekit serve did not answer within {START_TIMEOUT_S} s')


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope='module')
def live_server(tmp_path_factory):
    process, server = start_server(tmp_path_factory.mktemp('pulsekit'))
    yield server
    stop_server(process)
