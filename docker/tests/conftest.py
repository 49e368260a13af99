"""Helpers for the container test: the engine scripts/test-docker.sh started, compose, and a reporter.

Not collected by the main `pytest tests` run: this folder is outside `tests/` (testpaths), and it
needs a Docker engine that only scripts/test-docker.sh starts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get('PULSEKIT_DOCKER', 'docker')
IMAGE = 'pulsekit/pulsekit:latest'
BASE_IMAGE = 'debian:bookworm-slim'
COMPOSE_FILE = 'docker/docker-compose.yml'
BUILD_TIMEOUT_S = 1800


def run(*args: str, check: bool = True, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}'
        )
    return result


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return run(DOCKER, *args, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Compose:
    """docker-compose on the shipped docker-compose.yml, changed only where this machine requires it.

    The test engine has no bridge (private addresses are off limits here), so the service runs with
    host networking: its `ports` are dropped (host networking publishes nothing, and compose refuses
    both) and PulseKit listens on a free loopback port. Environment, volume, health check, restart
    policy and image are the file's own; `effective` is what was run.
    """

    def __init__(self, env: dict, port: int, folder: Path):
        self.project = f'pulsekittest{os.getpid()}'
        self.env = env
        self.url = f'http://127.0.0.1:{port}'
        resolved = run('docker-compose', '-f', COMPOSE_FILE, 'config', env=env).stdout
        self.effective = yaml.safe_load(resolved)
        service = self.effective['services']['pulsekit']
        service.pop('ports')
        service['network_mode'] = 'host'
        service['environment'] |= {'PULSEKIT_HOST': '127.0.0.1', 'PULSEKIT_PORT': str(port)}
        self.file = folder / 'docker-compose.effective.yml'
        self.file.write_text(yaml.safe_dump(self.effective))

    def __call__(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        return run(
            'docker-compose',
            '-p',
            self.project,
            '-f',
            str(self.file),
            *args,
            check=check,
            timeout=timeout,
            env=self.env,
        )

    def container_id(self) -> str:
        return self('ps', '-q', 'pulsekit').stdout.strip()

    def wait_healthy(self, timeout_s: float = 120) -> str:
        """The container's id once Docker's own HEALTHCHECK reports it healthy."""
        deadline = time.monotonic() + timeout_s
        status = ''
        while time.monotonic() < deadline:
            cid = self.container_id()
            if cid:
                status = docker('inspect', '-f', '{{.State.Health.Status}} {{.State.Status}}', cid).stdout.strip()
                if status.startswith('healthy'):
                    return cid
                if status.endswith(('exited', 'dead')):
                    break
            time.sleep(1)
        logs = docker('logs', cid, check=False) if cid else None
        raise AssertionError(f'not healthy ({status!r}):\n{logs.stdout[-3000:] + logs.stderr[-3000:] if logs else ""}')


@pytest.fixture(scope='session')
def say(request):
    """Print a line to the terminal even though pytest captures output (the figures the README quotes)."""
    capture = request.config.pluginmanager.getplugin('capturemanager')

    def _say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f'\n  [docker] {line}', flush=True)

    return _say


@pytest.fixture(scope='session')
def engine() -> None:
    """The Docker engine must answer: a failure, never a skip (scripts/test-docker.sh starts it)."""
    if not os.environ.get('DOCKER_HOST'):
        pytest.fail('DOCKER_HOST is not set: run the container test through scripts/test-docker.sh')
    docker('version')


@pytest.fixture(scope='session')
def image(engine, say) -> str:
    """Build docker/Dockerfile as users do (legacy builder: no buildx here; host network: no bridge)."""
    started = time.monotonic()
    build = docker(
        'build', '--network', 'host', '-f', 'docker/Dockerfile', '-t', IMAGE, '.',
        timeout=BUILD_TIMEOUT_S, env={'DOCKER_BUILDKIT': '0'},
    )  # fmt: skip
    context = next((line for line in build.stdout.splitlines() if 'build context' in line), '?')
    say(f'image built in {time.monotonic() - started:.0f} s ({context.strip()}: .dockerignore keeps it small)')
    return IMAGE
