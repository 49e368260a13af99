"""Sentry-compatible intake: POST /api/{project}/envelope/ and /api/{project}/store/ (docs/sentry.md).

Thin: find the key, read the body with the shared reader (size cap, gzip/deflate/br/zstd),
call the Sentry domain functions, then the same limiter and writer as /api/v1/events.
Plain Starlette routes installed with the hot ingest routes (`install_api(fast_routes=…)`); in the
production app the ingest lane (api/lane.py) serves them ahead of the middleware stack.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import RateLimited
from ..models import now_utc
from ..projects import KeyInfo
from ..sentry.auth import find_sentry_key
from ..sentry.envelope import MAX_ENVELOPE_HEADER_BYTES, envelope_header, parse_envelope
from ..sentry.errors import SentryRateLimited
from ..sentry.intake import prepare_envelope, prepare_store, require_project_key
from ..services import Services
from .bodies import iter_body, read_body
from .deps import services, verify_key
from .responses import json_response


async def sentry_envelope(request: Request) -> Response:
    svc = services(request)
    project_number = request.path_params['project_number']
    raw_key = find_sentry_key(request.headers, request.query_params)
    if raw_key:  # checked before a byte of the body is read
        key = await _project_key(request, raw_key, project_number)
        body = await read_body(request, svc.settings.max_body_bytes)
    else:
        key, body = await _read_keyed_by_envelope(request, project_number, svc.settings.max_body_bytes)
    intake = prepare_envelope(parse_envelope(body), now_utc(), _client_ip(request))
    await _store(svc, key, intake.events)
    return json_response({'id': intake.event_id})


async def _read_keyed_by_envelope(request: Request, project_number: int, max_bytes: int) -> tuple[KeyInfo, bytes]:
    """The key can only be in the envelope header (its first line): read that much, at most
    MAX_ENVELOPE_HEADER_BYTES, check the key, and only then the rest of the body."""
    chunks = iter_body(request, max_bytes)
    head = bytearray()
    async for chunk in chunks:
        searched = len(head)
        head += chunk
        if head.find(b'\n', searched) >= 0 or len(head) > MAX_ENVELOPE_HEADER_BYTES:
            break
    end = head.find(b'\n')
    first_line = bytes(head if end < 0 else head[:end])
    header = envelope_header(first_line) if len(first_line) <= MAX_ENVELOPE_HEADER_BYTES else None
    raw_key = find_sentry_key({}, {}, header)
    key = await _project_key(request, raw_key, project_number)
    async for chunk in chunks:
        head += chunk
    return key, bytes(head)


async def sentry_store(request: Request) -> Response:
    svc = services(request)
    raw_key = find_sentry_key(request.headers, request.query_params)
    key = await _project_key(request, raw_key, request.path_params['project_number'])
    intake = prepare_store(await read_body(request, svc.settings.max_body_bytes), now_utc(), _client_ip(request))
    await _store(svc, key, intake.events)
    return json_response({'id': intake.event_id})


async def _project_key(request: Request, raw_key: str | None, project_number: int) -> KeyInfo:
    key = await verify_key(request, raw_key, 'ingest')
    require_project_key(key, project_number)
    return key


async def _store(svc: Services, key: KeyInfo, events: list[dict]) -> None:
    if not events:  # sessions, client reports, transactions only: nothing to store or count
        return
    try:
        svc.limiter.take(key.key_id, len(events))
    except RateLimited as exc:
        raise SentryRateLimited.from_limit(exc) from None
    await svc.writer.write(key.project_id, events)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


routes = [
    Route(path, endpoint, methods=['POST'])
    for endpoint, name in ((sentry_envelope, 'envelope'), (sentry_store, 'store'))
    for path in (f'/api/{{project_number:int}}/{name}/', f'/api/{{project_number:int}}/{name}')
]


SENTRY_PATH = re.compile(r'/api/([0-9]+)/(envelope|store)/?')  # used with fullmatch
_ENDPOINTS = {'envelope': sentry_envelope, 'store': sentry_store}


def sentry_endpoint(path: str) -> tuple | None:
    """(endpoint, path params) of a Sentry ingest path, for the ingest lane; None for any other path."""
    if not path.startswith('/api/') or not path[5:6].isdigit():
        return None
    match = SENTRY_PATH.fullmatch(path)
    if match is None:
        return None
    return _ENDPOINTS[match.group(2)], {'project_number': int(match.group(1))}


CORS_HEADERS = [
    (b'access-control-allow-origin', b'*'),
    (b'access-control-expose-headers', b'x-sentry-error, x-sentry-rate-limits, retry-after'),
]
PREFLIGHT_HEADERS = [
    *CORS_HEADERS,
    (b'access-control-allow-methods', b'POST, OPTIONS'),
    (b'access-control-allow-headers', b'x-sentry-auth, content-type, content-encoding'),
    (b'access-control-max-age', b'86400'),
    (b'content-length', b'0'),
]


class SentryCors:
    """CORS for browser SDKs on the Sentry paths only: answers preflights and adds the headers to every
    answer, errors included (a browser SDK must be able to read a 429). Pure ASGI, like BodySizeLimit."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http' or not SENTRY_PATH.fullmatch(scope['path']):
            return await self.app(scope, receive, send)
        if scope['method'] == 'OPTIONS':
            await send({'type': 'http.response.start', 'status': 200, 'headers': PREFLIGHT_HEADERS})
            await send({'type': 'http.response.body', 'body': b''})
            return None

        async def send_with_cors(message):
            if message['type'] == 'http.response.start':
                message = {**message, 'headers': [*message.get('headers', []), *CORS_HEADERS]}
            await send(message)

        return await self.app(scope, receive, send_with_cors)
