"""Generic ASGI middleware (and the Starlette/FastAPI hook built on it).

Each request runs in its own scope, so two requests served at once on one event loop never see
each other's user, tags or breadcrumbs. Starlette answers an unhandled error with a 500 and then
re-raises it, which is where it is reported.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

from ..scope import isolation_scope
from .hooks import capture_once
from .request import note_route, note_user, request_info

SCOPE_MARK = 'pulsekit.scope'


def request_of_asgi_scope(scope: dict) -> dict:
    scheme = scope.get('scheme', 'http')
    headers = [(name.decode('latin-1'), value.decode('latin-1')) for name, value in scope.get('headers', [])]
    host = next((value for name, value in headers if name.lower() == 'host'), None)
    if host is None and scope.get('server'):
        host = '{}:{}'.format(*scope['server'])
    url = f'{scheme}://{host or ""}{quote(scope.get("root_path", "") + scope.get("path", ""))}'
    client = scope.get('client')
    return request_info(
        scope.get('method', 'WEBSOCKET'),
        url,
        headers,
        scope.get('query_string', b'').decode('latin-1'),
        client[0] if client else None,
    )


def note_starlette_details(scope: dict) -> None:
    """The matched route and the authenticated user, known only once the app has routed the request."""
    route = scope.get('route')
    note_route(getattr(route, 'path', None) or getattr(route, 'path_format', None))
    user = scope.get('user')  # set by Starlette's AuthenticationMiddleware
    if user is not None and getattr(user, 'is_authenticated', False):
        note_user(getattr(user, 'identity', None), getattr(user, 'display_name', None))


class PulseKitASGIMiddleware:
    """Wrap any ASGI app: `app = PulseKitASGIMiddleware(app)`."""

    def __init__(self, app: Callable, mechanism: str = 'asgi'):
        self.app = app
        self.mechanism = mechanism

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> Any:
        if scope.get('type') not in ('http', 'websocket') or scope.get(SCOPE_MARK):
            return await self.app(scope, receive, send)
        try:
            request = request_of_asgi_scope(scope)
        except Exception:
            request = None
        scope[SCOPE_MARK] = True
        with isolation_scope(request):
            try:
                return await self.app(scope, receive, send)
            except Exception as exc:
                note_starlette_details(scope)
                capture_once(exc, level='error', tags={'mechanism': self.mechanism})
                raise
