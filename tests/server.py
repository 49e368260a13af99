"""A real `pulsekit serve` subprocess on a free 127.0.0.1 port, for flow tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .databases import database_env

STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def pulsekit_cli(
    data_dir: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run `pulsekit ARGS --data-dir DATA_DIR` as a user would (on PostgreSQL: that directory's database)."""
    return subprocess.run(
        [sys.executable, '-m', 'pulsekit.cli', *args, '--data-dir', str(data_dir)],
        env={**os.environ, **database_env(data_dir)},
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def create_project_and_key(data_dir: Path, permissions: str = 'ingest,read') -> tuple[dict, dict]:
    project = json.loads(pulsekit_cli(data_dir, 'project', 'create', 'Test App', '--json').stdout)
    key = json.loads(
        pulsekit_cli(
            data_dir, 'key', 'create', '--project', project['slug'], '--permissions', permissions, '--json'
        ).stdout
    )
    return project, key


class ServerProcess:
    def __init__(self, data_dir: Path, env: dict | None = None, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()  # a restart can reuse the port its clients know
        self.url = f'http://127.0.0.1:{self.port}'
        self.env = {**os.environ, **(env or {})}
        if 'DATABASE_URL' not in (env or {}):  # on PostgreSQL the data directory's own (tests/databases.py)
            self.env.update(database_env(data_dir))
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / f'server-{self.port}.log'

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open('ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'pulsekit.cli', 'serve', '--port', str(self.port), '--data-dir', str(self.data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'server exited with {self.proc.returncode}:\n{self.log()}')
            try:
                if httpx.get(f'{self.url}/api/v1/health', timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f'server did not become healthy in {STARTUP_TIMEOUT_S}s:\n{self.log()}')

    def log(self) -> str:
        return self.log_path.read_text(errors='replace') if self.log_path.exists() else ''

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash or an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, as `docker stop` or systemd do; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, exc_type, *_) -> None:
        self.kill()
        if exc_type is not None:  # pytest shows stderr of a failing test: what the server said last
            tail = '\n'.join(self.log().splitlines()[-40:])
            print(f'--- {self.log_path.name}, last lines ---\n{tail}', file=sys.stderr)
