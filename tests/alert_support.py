"""Helpers for the alert tests: a real webhook receiver on 127.0.0.1, an instance's services
with the alert engine, and a `pulsekit serve` subprocess."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pulsekit.alerts.engine import AlertEngine
from pulsekit.config import Settings
from pulsekit.events.ingest import prepare_batch
from pulsekit.instance_settings import set_setting
from pulsekit.models import Project, now_utc
from pulsekit.projects import create_project
from pulsekit.services import Services, start_services

from . import server
from .server import pulsekit_cli

WAIT_S = 10.0  # every wait in these tests is bounded by this


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when the request arrived

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: answers from `script` in order (then 200), records every request."""

    script: list[tuple[int, dict, bytes]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    delay_s: float = 0.0  # a slow receiver: each answer waits this long (after the request is recorded)

    def __post_init__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('content-length') or 0))
                receiver.requests.append(Received(self.path, dict(self.headers), body, time.time()))
                time.sleep(receiver.delay_s)
                status, headers, reply = receiver.script.pop(0) if receiver.script else (200, {}, b'ok')
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server.server_address[1]}/hook'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    async def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.requests


async def wait_until(predicate, timeout_s: float = WAIT_S, interval_s: float = 0.02):
    """Poll a (synchronous, DB-reading) predicate off the loop until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await asyncio.to_thread(predicate)
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval_s)


@dataclass
class AlertHarness:
    services: Services
    engine: AlertEngine
    project: Project

    async def ingest(self, *events: dict) -> list[str]:
        prepared = prepare_batch({'events': list(events)}, now_utc(), 1000)
        return await self.services.writer.write(self.project.id, prepared)

    async def run(self, fn, *args, **kwargs):
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def write(self, fn):
        return await asyncio.wrap_future(self.services.writer.run_task(fn))


@asynccontextmanager
async def alert_instance(settings: Settings, *, allow_private: bool = True) -> AsyncIterator[AlertHarness]:
    """Services with the alert engine subscribed to commits (no scheduler: tests call the jobs themselves)."""
    services = start_services(settings)
    try:
        with services.db.connection_context():
            set_setting('allow_private_webhook_targets', allow_private)
            project = create_project('Shop')
        engine = AlertEngine(services)
        engine.start()
        services.extras['alerts'] = engine
        try:
            yield AlertHarness(services, engine, project)
        finally:
            await engine.stop()
    finally:
        services.close()


# -- a real server process -------------------------------------------------------------------
def cli(data_dir: Path, *args: str) -> dict:
    return json.loads(pulsekit_cli(data_dir, *args, '--json').stdout)


class ServerProcess(server.ServerProcess):
    """`pulsekit serve` stopped gracefully (SIGTERM) when the block ends, as `docker stop` would."""

    def __exit__(self, *exc) -> None:
        self.terminate()
