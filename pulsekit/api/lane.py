"""The ingest lane: the native (POST /api/v1/events, /batch) and Sentry (POST /api/<project>/envelope/,
/store/) ingest endpoints served ahead of the ASGI middleware stack.

The same endpoints are also routes on the app (api/events.py, api/sentry.py), but behind six
middleware layers that a single-event POST paid for as much as for its own validation; served here
they are about 15% faster end to end (benchmarks/ingest.py, single events). What the stack would do
for these paths is done here: the body-size limit, CORS for browser SDKs (api/cors.py on the native
paths, the Sentry rules on the Sentry paths), domain errors as JSON, a logged JSON 500 for anything
else. No session or cookie is ever set.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request

from ..errors import PulseKitError
from . import events, sentry
from .cors import IngestCors
from .errors import error_response, internal_error_response
from .middleware import BodySizeLimit, BodyTooLarge

log = logging.getLogger(__name__)


class IngestLane:
    def __init__(self, max_body_bytes: int):
        self._endpoints = {route.path: route.endpoint for route in events.routes}
        self._limited = BodySizeLimit(self._serve, max_body_bytes)
        self._native = IngestCors(self._limited)
        self._sentry = sentry.SentryCors(self._limited)

    def takes(self, scope) -> bool:
        if scope['type'] != 'http' or scope['method'] != 'POST':
            return False
        path = scope['path']
        return path in self._endpoints or sentry.sentry_endpoint(path) is not None

    async def __call__(self, scope, receive, send) -> None:
        if scope['path'] in self._endpoints:
            return await self._native(scope, receive, send)
        return await self._sentry(scope, receive, send)

    async def _serve(self, scope, receive, send) -> None:
        path = scope['path']
        endpoint = self._endpoints.get(path)
        if endpoint is None:
            endpoint, scope['path_params'] = sentry.sentry_endpoint(path)
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except PulseKitError as exc:
            response = error_response(exc)
        except BodyTooLarge:  # BodySizeLimit answers it
            raise
        except ClientDisconnect:  # gone (or cut off by the read timeout, serving.py): nobody to answer
            return
        except Exception:
            log.exception('unhandled error on POST %s', path)
            response = internal_error_response()
        await response(scope, receive, send)
