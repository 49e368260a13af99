"""Ingestion: POST /api/v1/events and /api/v1/events/batch (docs/protocol.md).

Plain Starlette routes, placed before FastAPI's router: the hot path skips FastAPI's
dependency solving and nested-router matching, which cost more than the work itself.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..events.ingest import prepare_batch_json, prepare_event_json
from ..models import now_utc
from .bodies import read_json_bytes
from .cors import check_origin
from .deps import authenticate, services
from .responses import json_response


async def ingest_one(request: Request) -> Response:
    svc = services(request)
    key = await authenticate(request, 'ingest')
    await check_origin(request, key)
    body = await read_json_bytes(request, svc.settings.max_body_bytes)
    event = prepare_event_json(body, now_utc())
    svc.limiter.take(key.key_id, 1)
    ids = await svc.writer.write(key.project_id, [event])
    return json_response({'id': ids[0]}, 202)


async def ingest_batch(request: Request) -> Response:
    svc = services(request)
    key = await authenticate(request, 'ingest')
    await check_origin(request, key)
    body = await read_json_bytes(request, svc.settings.max_body_bytes)
    events = prepare_batch_json(body, now_utc(), svc.settings.max_batch_events)
    svc.limiter.take(key.key_id, len(events))
    ids = await svc.writer.write(key.project_id, events, is_batch=True)
    return json_response({'ids': ids}, 202)


routes = [
    Route('/api/v1/events', ingest_one, methods=['POST']),
    Route('/api/v1/events/batch', ingest_batch, methods=['POST']),
]
