"""Generic WSGI middleware: a fresh scope per request, request data on events, unhandled errors reported."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import quote

from ..scope import isolation_scope
from .hooks import capture_once
from .request import request_info

ENVIRON_MARK = 'pulsekit.scope'  # set while our middleware handles the request: an inner one steps aside


def url_of_environ(environ: dict) -> str:
    scheme = environ.get('wsgi.url_scheme', 'http')
    host = environ.get('HTTP_HOST') or f'{environ.get("SERVER_NAME", "")}:{environ.get("SERVER_PORT", "")}'
    path = quote(environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', ''))
    return f'{scheme}://{host}{path}'


def request_of_environ(environ: dict) -> dict:
    headers = [(key[5:].replace('_', '-'), value) for key, value in environ.items() if key.startswith('HTTP_')]
    if environ.get('CONTENT_TYPE'):
        headers.append(('Content-Type', environ['CONTENT_TYPE']))
    return request_info(
        environ.get('REQUEST_METHOD', 'GET'),
        url_of_environ(environ),
        headers,
        environ.get('QUERY_STRING', ''),
        environ.get('REMOTE_ADDR'),
    )


def capture_request_error(exc: BaseException, mechanism: str) -> None:
    capture_once(exc, level='error', tags={'mechanism': mechanism})


class PulseKitWSGIMiddleware:
    """Wrap any WSGI app: `app = PulseKitWSGIMiddleware(app)`."""

    def __init__(self, app: Callable, mechanism: str = 'wsgi'):
        self.app = app
        self.mechanism = mechanism

    def __call__(self, environ: dict, start_response: Callable) -> Iterable:
        if environ.get(ENVIRON_MARK):
            return self.app(environ, start_response)
        try:
            request = request_of_environ(environ)
        except Exception:
            request = None
        environ[ENVIRON_MARK] = True
        with isolation_scope(request):
            try:
                response = self.app(environ, start_response)
            except Exception as exc:
                capture_request_error(exc, self.mechanism)
                raise
        return _ScopedResponse(response, request, self.mechanism)


class _ScopedResponse:
    """The response body, iterated in the request's scope: a streaming body can fail too."""

    def __init__(self, response: Iterable, request: dict | None, mechanism: str):
        self._response = response
        self._request = request
        self._mechanism = mechanism

    def __iter__(self) -> Any:
        iterator = iter(self._response)
        while True:
            with isolation_scope(self._request):
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
                except Exception as exc:
                    capture_request_error(exc, self._mechanism)
                    raise
            yield chunk

    def close(self) -> None:
        close = getattr(self._response, 'close', None)
        if close is not None:
            close()
