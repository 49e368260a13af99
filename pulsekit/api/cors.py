"""CORS for the native ingest endpoints (POST /api/v1/events and /batch), so browser SDKs can post.

Two halves: `IngestCors`, pure ASGI, answers preflights and adds the CORS headers to every
answer of a request that carries an `Origin` (errors included: a browser SDK must be able to
read a 429's Retry-After or a 403's reason); and `check_origin`, called by the routes once the
key is known, which refuses origins the project does not allow (origins.py). Requests without
an `Origin` (servers, scripts, SDKs outside browsers) pass through untouched.
"""

from __future__ import annotations

from starlette.requests import Request

from ..keys import KeyInfo
from ..origins import OriginCache, require_origin
from .deps import run_db, services

INGEST_PATHS = frozenset({'/api/v1/events', '/api/v1/events/batch'})
PREFLIGHT_MAX_AGE_S = 7200  # Chromium caps preflight caching at two hours
ALLOWED_HEADERS = b'content-type, content-encoding, x-pulsekit-key, authorization'
EXPOSED_HEADERS = b'retry-after'


def _origin(scope) -> bytes | None:
    for name, value in scope['headers']:
        if name == b'origin':
            return value
    return None


def _cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    # The origin is echoed rather than '*': the answer then only ever serves the page that asked.
    return [
        (b'access-control-allow-origin', origin),
        (b'access-control-expose-headers', EXPOSED_HEADERS),
        (b'vary', b'Origin'),
    ]


class IngestCors:
    """Preflights and CORS headers for POSTs to the ingest paths; every other request passes through."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http' or scope['path'] not in INGEST_PATHS:
            return await self.app(scope, receive, send)
        origin = _origin(scope)
        if origin is None:
            return await self.app(scope, receive, send)
        if scope['method'] == 'OPTIONS':
            # A preflight carries no key, so the project is unknown here: the POST itself is checked.
            headers = [
                *_cors_headers(origin),
                (b'access-control-allow-methods', b'POST, OPTIONS'),
                (b'access-control-allow-headers', ALLOWED_HEADERS),
                (b'access-control-max-age', str(PREFLIGHT_MAX_AGE_S).encode()),
            ]
            await send({'type': 'http.response.start', 'status': 204, 'headers': headers})
            await send({'type': 'http.response.body', 'body': b''})
            return None
        if scope['method'] != 'POST':  # GET /api/v1/events is the read API: no CORS for it
            return await self.app(scope, receive, send)
        extra = _cors_headers(origin)

        async def send_with_cors(message):
            if message['type'] == 'http.response.start':
                message = {**message, 'headers': [*message.get('headers', []), *extra]}
            await send(message)

        return await self.app(scope, receive, send_with_cors)


async def check_origin(request: Request, key: KeyInfo) -> None:
    """Refuse (403) a browser request whose origin the key's project does not allow; no-op without Origin."""
    origin = request.headers.get('origin')
    if origin is None:
        return
    extras = services(request).extras
    cache: OriginCache = extras.get('origins') or extras.setdefault('origins', OriginCache())
    found, allowed = cache.cached(key.project_id)
    if not found:
        allowed = await run_db(cache.load, key.project_id)
    require_origin(allowed, origin, key.permissions)
