"""Real HTTP servers on 127.0.0.1 for the framework integration tests: WSGI (wsgiref) and ASGI (uvicorn)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextlib.contextmanager
def serve_wsgi(app, threaded: bool = False) -> Iterator[str]:
    """Serve app; one thread handles every request unless threaded (then a thread per request)."""
    server_class = _ThreadingWSGIServer if threaded else WSGIServer
    httpd = make_server('127.0.0.1', 0, app, server_class=server_class, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}'
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def serve_asgi(app) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='critical', lifespan='off'))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f'http://127.0.0.1:{port}'
    finally:
        server.should_exit = True
        thread.join(5)


def get(url: str, headers: dict | None = None) -> int:
    """GET url; the status code, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def get_at_once(urls: list[str]) -> list[int]:
    """GET every url concurrently, one thread each; the statuses in the order of urls."""
    statuses: list = [None] * len(urls)

    def fetch(index: int) -> None:
        statuses[index] = get(urls[index])

    threads = [threading.Thread(target=fetch, args=(index,)) for index in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return statuses
