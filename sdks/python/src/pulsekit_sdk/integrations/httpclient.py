"""Breadcrumbs of outgoing HTTP requests made with http.client (and so urllib, and urllib3/requests).

Each request the app makes (method, URL, status) becomes a breadcrumb on the scope of the code
that made it; the SDK's own requests to PulseKit are not recorded.
"""

from __future__ import annotations

import http.client
from datetime import datetime, timezone
from typing import Any

from ..scope import update_context_scope

INTERNAL_MARK = '_pulsekit_internal'
_originals: dict = {}


def _url_of(connection: http.client.HTTPConnection, target: str) -> str:
    if target.startswith(('http://', 'https://')):
        return target
    scheme = 'https' if isinstance(connection, http.client.HTTPSConnection) else 'http'
    default_port = 443 if scheme == 'https' else 80
    host = getattr(connection, '_tunnel_host', None) or connection.host
    port = getattr(connection, '_tunnel_port', None) or connection.port
    netloc = host if port in (None, default_port) else f'{host}:{port}'
    # The query string may hold tokens: keep the path only.
    return f'{scheme}://{netloc}{target.split("?", 1)[0]}'


def _putrequest(self: http.client.HTTPConnection, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
    if not getattr(self, INTERNAL_MARK, False):
        try:
            self._pulsekit_request = (method, _url_of(self, url))
        except Exception:
            self._pulsekit_request = None
    return _originals['putrequest'](self, method, url, *args, **kwargs)


def _getresponse(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> Any:
    request = getattr(self, '_pulsekit_request', None)
    status = None
    try:
        response = _originals['getresponse'](self, *args, **kwargs)
        status = response.status
        return response
    finally:
        if request is not None:
            self._pulsekit_request = None
            _record(request[0], request[1], status)


def _record(method: str, url: str, status: int | None) -> None:
    crumb = {
        'timestamp': datetime.now(timezone.utc).isoformat(timespec='milliseconds'),
        'type': 'http',
        'category': 'httplib',
        'level': 'error' if status is None or status >= 500 else 'warning' if status >= 400 else 'info',
        'data': {'method': method, 'url': url, 'status_code': status},
    }
    update_context_scope(lambda data: data.add_breadcrumb(crumb))


def install() -> None:
    if _originals:
        return
    _originals['putrequest'] = http.client.HTTPConnection.putrequest
    _originals['getresponse'] = http.client.HTTPConnection.getresponse
    http.client.HTTPConnection.putrequest = _putrequest
    http.client.HTTPConnection.getresponse = _getresponse


def uninstall() -> None:
    if not _originals:
        return
    if http.client.HTTPConnection.putrequest is _putrequest:
        http.client.HTTPConnection.putrequest = _originals['putrequest']
    if http.client.HTTPConnection.getresponse is _getresponse:
        http.client.HTTPConnection.getresponse = _originals['getresponse']
    _originals.clear()
