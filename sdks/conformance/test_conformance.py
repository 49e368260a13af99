"""End-to-end conformance: every SDK's program against a real PulseKit server, checked via the read API.

For each SDK found by its `sdks/<lang>/conformance/manifest.json` (see README.md), and for two
routes — straight to the server, and through a proxy that answers 503 for a while — a fresh
project gets the SDK's events, and every expected event must be stored exactly once, with the
fields the vectors name.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from flaky_proxy import FlakyProxy
from wire_match import VECTORS_DIR, load_vectors, stored_comparable

SDKS_DIR = Path(__file__).resolve().parents[1]
MANIFESTS = sorted(SDKS_DIR.glob('*/conformance/manifest.json'))
SERVER_START_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 60
MAX_PAGES = 50  # of 200 events: far more than the vectors hold
PROGRAM_FLUSH_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def pulsekit(data_dir: Path, *args: str, env: dict | None = None) -> dict:
    """Run the server's CLI with --json and return its answer."""
    result = subprocess.run(
        [sys.executable, '-m', 'pulsekit.cli', *args, '--data-dir', str(data_dir), '--json'],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f'pulsekit {" ".join(args)} failed:\n{result.stderr}'
    return json.loads(result.stdout)


class Server:
    """`pulsekit serve` on a free port with a fresh database in a temporary folder."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.url = f'http://127.0.0.1:{free_port()}'
        self.log_path = data_dir / 'server.log'
        command = [sys.executable, '-m', 'pulsekit.cli', 'serve', '--host', '127.0.0.1']
        command += ['--port', self.url.rsplit(':', 1)[1], '--data-dir', str(data_dir)]
        with self.log_path.open('wb') as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f'the server exited with {self.process.returncode}:\n{self.log()}')
            try:
                with urllib.request.urlopen(f'{self.url}/api/v1/health', timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f'the server was not healthy after {SERVER_START_TIMEOUT_S} s:\n{self.log()}')

    def log(self) -> str:
        return self.log_path.read_text(errors='replace')[-5000:]

    def new_project(self, name: str) -> tuple:
        """(project, key with ingest and read, as the CLI prints it) for a new project."""
        project = pulsekit(self.data_dir, 'project', 'create', name)
        # The CLI builds the DSN from the instance's public URL: tell it this server's.
        env = {'PULSEKIT_BASE_URL': self.url}
        arguments = ('key', 'create', '--project', project['slug'], '--permissions', 'ingest,read')
        return project, pulsekit(self.data_dir, *arguments, env=env)

    def stored_events(self, api_key: str) -> list:
        """Every event of the key's project, through GET /api/v1/events and its cursor."""
        events: list = []
        cursor = None
        for _ in range(MAX_PAGES):
            query = '?limit=200' + (f'&cursor={cursor}' if cursor else '')
            request = urllib.request.Request(f'{self.url}/api/v1/events{query}', headers={'X-PulseKit-Key': api_key})
            with urllib.request.urlopen(request, timeout=10) as response:
                page = json.load(response)
            events.extend(page['events'])
            cursor = page['next_cursor']
            if not cursor:
                return events
        pytest.fail(f'more than {MAX_PAGES} pages of events')

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp('pulsekit-data'))
    yield running
    running.stop()


def is_runnable(program: str, workdir: Path) -> bool:
    """A command on PATH, or (with a '/') an executable file relative to the SDK's conformance folder."""
    if os.sep in program:
        return os.access(workdir / program, os.X_OK)
    return shutil.which(program) is not None


def run_program(manifest_path: Path, endpoint: str, api_key: str) -> dict:
    """Run the SDK's conformance program; returns {vector name: [event ids]}."""
    manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
    workdir = manifest_path.parent
    timeout_s = manifest.get('timeout_s', 120)
    env = {
        **os.environ,
        'PULSEKIT_ENDPOINT': endpoint,
        'PULSEKIT_API_KEY': api_key,
        'PULSEKIT_VECTORS_DIR': str(VECTORS_DIR),
        'PULSEKIT_FLUSH_TIMEOUT_S': str(PROGRAM_FLUSH_TIMEOUT_S),
    }
    env.pop('PULSEKIT_DSN', None)
    for command in [*manifest.get('setup', []), manifest['command']]:
        argv = [sys.executable if part == '{python}' else part for part in command]
        # A missing toolchain fails the run: conformance is never skipped.
        assert is_runnable(argv[0], workdir), f'{manifest["sdk"]}: {argv[0]!r} is not installed'
        result = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout_s)
        assert result.returncode == 0, f'{manifest["sdk"]}: {argv} exited {result.returncode}:\n{result.stderr}'
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.strip().startswith('{')]
    # The server answers ids in canonical form (lower case, dashed); an SDK may generate either form.
    return {report['vector']: [canonical_id(event_id) for event_id in report['ids']] for report in reports}


def canonical_id(event_id: str | None) -> str | None:
    return str(uuid.UUID(event_id)) if event_id else None


def sdk_name(manifest_path: Path) -> str:
    return manifest_path.parent.parent.name


def test_every_sdk_directory_with_a_conformance_program_is_found():
    assert 'python' in [sdk_name(path) for path in MANIFESTS]


def test_the_dsn_the_server_prints_leads_the_python_sdk_to_the_server(server):
    import pulsekit_sdk  # the reference SDK; `pip install -e sdks/python` (not skipped when missing)

    project, key = server.new_project('conformance dsn')

    parsed = pulsekit_sdk.parse_dsn(key['dsn'])

    assert (parsed.endpoint, parsed.api_key, parsed.project) == (server.url, key['key'], str(project['id']))


@pytest.mark.parametrize('route', ['direct', 'through_503_proxy'])
@pytest.mark.parametrize('manifest_path', MANIFESTS, ids=sdk_name)
def test_sdk_delivers_every_vector_event_exactly_once(server, manifest_path, route):
    _, key = server.new_project(f'conformance {sdk_name(manifest_path)} {route}')
    api_key = key['key']
    proxy = FlakyProxy(server.url, refusals=3, lost_answers=1) if route == 'through_503_proxy' else None
    try:
        reported = run_program(manifest_path, proxy.url if proxy else server.url, api_key)
    finally:
        if proxy:
            proxy.close()

    vectors = load_vectors()
    assert sorted(reported) == sorted(vector['name'] for vector in vectors)
    stored = server.stored_events(api_key)
    counts = collections.Counter(event['id'] for event in stored)
    assert [event_id for event_id, count in counts.items() if count > 1] == []
    all_ids = [event_id for ids in reported.values() for event_id in ids]
    assert None not in all_ids
    assert sorted(counts) == sorted(all_ids), 'stored events differ from the ones the SDK reported'
    by_id = {event['id']: event for event in stored}
    for vector in vectors:
        expected_events = vector['expected_wire']['events']
        assert len(reported[vector['name']]) == len(expected_events), vector['name']
        for event_id, expected_event in zip(reported[vector['name']], expected_events, strict=True):
            expected, actual = stored_comparable(expected_event, by_id[event_id], vector)
            assert actual == expected, f'{vector["name"]}: event {event_id}'
    if proxy:
        statuses = [answer[0] for answer in proxy.answers]
        assert statuses[:4] == [503, 503, 503, 503], 'the SDK must have met the outage'
        assert proxy.answers[3] == (503, True), 'one batch was stored but its answer lost'
