"""The first hour, verbatim: the README's `make run` and "Send your first event" commands run as
written, in order, in a fresh folder; the DSN and `demo --live` find the server that serves the
data folder; `make demo` adds no look-alike of a project the user already has.

One deviation, on purpose: port 4000 is replaced by a free port (other servers may hold 4000 on a
shared machine). That is also what proves the DSN follows the server's real port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pulsekit.server_address import record_address, recorded_url

from .databases import stored_event_ids
from .server import ServerProcess, free_port, pulsekit_cli

ROOT = Path(__file__).resolve().parents[1]
# A user's shell has none of these: the commands must find the server on their own.
UNSET = ('PULSEKIT_PORT', 'PULSEKIT_HOST', 'PULSEKIT_BASE_URL', 'PULSEKIT_DATA_DIR')


def readme_section(title: str) -> str:
    text = (ROOT / 'README.md').read_text()
    start = text.index(title)
    end = text.find('\n## ', start + len(title))
    return text[start : end if end != -1 else None]


def shell_blocks(section: str) -> list[str]:
    return re.findall(r'```sh\n(.*?)```', section, re.S)


def make_run_command() -> str:
    """The `run` recipe of the Makefile, as make would run it once the venv exists."""
    recipe = re.search(r'^run:.*\n\t(.+)$', (ROOT / 'Makefile').read_text(), re.M).group(1)
    return recipe.replace('$(BIN)', '.venv/bin')


def start_make_run(folder: Path, port: int) -> subprocess.Popen:
    command = make_run_command().replace('4000', str(port))
    proc = subprocess.Popen(
        ['bash', '-c', f'exec {command}'], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f'http://127.0.0.1:{port}/api/v1/health', timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f'make run did not start: {proc.communicate()[0].decode()}')


def test_readme_first_event_commands_run_verbatim_against_make_run(tmp_path):
    [top, *_] = shell_blocks(readme_section('# PulseKit'))
    assert top.splitlines()[0].startswith('make run')
    [block] = shell_blocks(readme_section('## Send your first event'))
    folder = tmp_path / 'clone'
    folder.mkdir()
    (folder / '.venv').symlink_to(Path(sys.prefix))  # what `make run`'s install step made
    port = free_port()
    server = start_make_run(folder, port)
    try:
        script = block.replace('4000', str(port))
        result = subprocess.run(
            ['bash', '-euo', 'pipefail', '-c', script], cwd=folder, capture_output=True, text=True, timeout=120,
            env={k: v for k, v in os.environ.items() if k not in UNSET},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "created project 'Web shop': id 1, slug web-shop" in out
        # The DSN names the port the server really serves on, though `key create` was not told it.
        assert re.search(rf'DSN: http://pk_\w+@127\.0\.0\.1:{port}/1\b', out), out
        decoder, rest, replies = json.JSONDecoder(), out[out.index('{') :], []
        while rest.strip():  # curl prints the two JSON answers without a newline between them
            reply, end = decoder.raw_decode(rest.strip())
            replies.append(reply)
            rest = rest.strip()[end:]
        stored, listed = replies
        assert listed['events'][0]['id'] == stored['id']
        assert listed['events'][0]['message'] == 'Checkout failed'
    finally:
        server.terminate()
        server.wait(20)
    assert recorded_url(folder / 'data') is None  # the server said where it was, and unsaid it on exit


def test_a_note_left_by_a_killed_server_is_ignored(tmp_path):
    record_address(tmp_path, '0.0.0.0', 5123, pid=os.getpid())
    assert recorded_url(tmp_path) == 'http://127.0.0.1:5123'
    record_address(tmp_path, '127.0.0.1', 5123, pid=2**22 + 12345)  # no such process
    assert recorded_url(tmp_path) is None


def test_make_demo_reuses_the_users_project_instead_of_adding_a_look_alike(tmp_path):
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'project', 'create', 'Web shop')  # as the README does
    pulsekit_cli(data_dir, 'demo', '--events', '200', '--json')
    pulsekit_cli(data_dir, 'demo', '--events', '200', '--json')  # and `make demo` twice
    projects = json.loads(pulsekit_cli(data_dir, 'project', 'list', '--json').stdout)['projects']
    assert [(p['name'], p['slug']) for p in projects] == [
        ('Web shop', 'web-shop'), ('Mobile API', 'mobile-api'), ('Billing Worker', 'billing-worker'),
    ]  # fmt: skip


def count_events(data_dir: Path) -> int:
    return len(stored_event_ids(data_dir))


def test_demo_live_sends_live_events_to_the_running_server_without_reseeding(tmp_path):
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'demo', '--events', '300', '--json')
    before = count_events(data_dir)
    with ServerProcess(data_dir) as server:
        live = json.loads(pulsekit_cli(data_dir, 'demo', '--live', '2', '--json').stdout)  # no --port: it finds it
        assert live['events'] == 0 and live['live_events'] > 0
        assert live['dsn'].endswith(f'@127.0.0.1:{server.port}/1')
    assert count_events(data_dir) == before + live['live_events']  # live events only: not seeded again
