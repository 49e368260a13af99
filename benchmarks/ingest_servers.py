"""The servers the ingest benchmark measures: the no-op ceiling app and `pulsekit serve`, each on a
free 127.0.0.1 port, started and stopped around the phases that use them.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import HEALTH_PATH, Server, cli_json, descendants, free_port, log, pulsekit_cmd, tree_rss_kb

NOOP_APP = Path(__file__).resolve().parent / 'noop_app.py'


@dataclass
class PulseKit:
    """A running `pulsekit serve` with a project and an `ingest,read` key made with the CLI."""

    server: Server
    key: str
    data_dir: Path
    rss_idle_kb: int


@contextlib.contextmanager
def noop_server(workdir: Path, env: dict[str, str]) -> Iterator[tuple[Server, int]]:
    """The no-op ceiling app, healthy; yields it and its idle RSS in kB."""
    port = free_port()
    cmd = [sys.executable, str(NOOP_APP), '--host', '127.0.0.1', '--port', str(port)]
    with Server('noop', cmd, port, workdir, env) as noop:
        noop.wait_healthy()
        time.sleep(1)
        yield noop, tree_rss_kb(descendants(noop.pid))


def server_env(workdir: Path, env: dict[str, str], keep_rate_limit: bool) -> dict[str, str]:
    """The environment of `pulsekit serve` and of the CLI calls beside it."""
    srv_env = env | {'NICEGUI_STORAGE_PATH': str(workdir / 'nicegui')}
    if not keep_rate_limit:  # the per-key limit (10,000 events/s) would cap the batch phase
        srv_env['PULSEKIT_RATE_LIMIT_EVENTS_PER_S'] = '0'
    return srv_env


@contextlib.contextmanager
def pulsekit_server(pulsekit: str | None, workdir: Path, env: dict[str, str]) -> Iterator[PulseKit]:
    """`pulsekit serve` with a fresh data directory under `workdir`, a project and a key."""
    data_dir = workdir / 'data'
    data_dir.mkdir()
    cli = pulsekit_cmd(pulsekit)
    port = free_port()
    serve = [*cli, 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', str(data_dir)]
    with Server('pulsekit', serve, port, workdir, env) as server:
        startup = server.wait_healthy()
        log(f'pulsekit answered {HEALTH_PATH} after {startup:.1f} s')
        data_opt = ['--data-dir', str(data_dir), '--json']
        project = cli_json([*cli, 'project', 'create', 'bench', *data_opt], env, workdir)
        key_cmd = [*cli, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read', *data_opt]
        key = cli_json(key_cmd, env, workdir)['key']
        time.sleep(2)
        server.check_alive()
        yield PulseKit(server, key, data_dir, tree_rss_kb(descendants(server.pid)))


@dataclass
class Replicas:
    """`pulsekit serve` processes on one PostgreSQL database, each with its own data dir and port."""

    servers: list[Server]
    key: str
    rss_idle_kb: int  # all replicas together

    @property
    def bases(self) -> list[str]:
        return [s.base for s in self.servers]

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers]


@contextlib.contextmanager
def pulsekit_replicas(
    pulsekit: str | None, workdir: Path, env: dict[str, str], database_url: str, count: int, label: str
) -> Iterator[Replicas]:
    """`count` replicas on `database_url`: migrated once by the CLI first (so the replicas do not race
    to migrate), then a project and a key, then the servers."""
    cli = pulsekit_cmd(pulsekit)
    env = env | {'DATABASE_URL': database_url}
    cli_dir = workdir / f'{label}-cli'
    cli_dir.mkdir()
    data_opt = ['--data-dir', str(cli_dir), '--json']
    cli_json([*cli, 'migrate', *data_opt], env, workdir)
    project = cli_json([*cli, 'project', 'create', 'bench', *data_opt], env, workdir)
    key_cmd = [*cli, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read', *data_opt]
    key = cli_json(key_cmd, env, workdir)['key']
    with contextlib.ExitStack() as stack:
        servers = []
        for i in range(count):
            data_dir = workdir / f'{label}-data-{i + 1}'
            data_dir.mkdir()
            port = free_port()
            serve = [*cli, 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', str(data_dir)]
            replica_env = env | {'NICEGUI_STORAGE_PATH': str(workdir / f'{label}-nicegui-{i + 1}')}
            servers.append(stack.enter_context(Server(f'{label}-{i + 1}', serve, port, workdir, replica_env)))
        for server in servers:
            startup = server.wait_healthy()
            log(f'{server.name} answered {HEALTH_PATH} after {startup:.1f} s')
        time.sleep(2)
        for server in servers:
            server.check_alive()
        yield Replicas(servers, key, sum(tree_rss_kb(descendants(s.pid)) for s in servers))
