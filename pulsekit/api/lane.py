"""The ingest lane: POST /api/v1/events and /batch served ahead of the ASGI middleware stack.

The same endpoints are also routes on the app (api/events.py), but behind six middleware
layers that a single-event POST paid for as much as for its own validation; served here they
are about 15% faster end to end (benchmarks/ingest.py, single events). What the stack would do
for these two paths is done here: the body-size limit, domain errors as JSON, a logged JSON
500 for anything else, and CORS for browser SDKs (api/cors.py). No session or cookie is ever set on them.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from ..errors import PulseKitError
from . import events
from .cors import IngestCors
from .errors import error_response, internal_error_response
from .middleware import BodySizeLimit, BodyTooLarge

log = logging.getLogger(__name__)


class IngestLane:
    def __init__(self, max_body_bytes: int):
        self._endpoints = {route.path: route.endpoint for route in events.routes}
        self._limited = IngestCors(BodySizeLimit(self._serve, max_body_bytes))

    def takes(self, scope) -> bool:
        return scope['type'] == 'http' and scope['method'] == 'POST' and scope['path'] in self._endpoints

    async def __call__(self, scope, receive, send) -> None:
        await self._limited(scope, receive, send)

    async def _serve(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._endpoints[scope['path']](request)
        except PulseKitError as exc:
            response = error_response(exc)
        except BodyTooLarge:  # BodySizeLimit answers it
            raise
        except Exception:
            log.exception('unhandled error on POST %s', scope['path'])
            response = internal_error_response()
        await response(scope, receive, send)
