"""The one place where domain errors become HTTP status codes and the JSON error body."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from ..errors import (
    Conflict,
    InsufficientStorage,
    InvalidApiKey,
    InvalidField,
    InvalidJson,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    PulseKitError,
    RateLimited,
    UnsupportedMediaType,
)
from ..events.storable import escape_surrogates
from .responses import json_response

log = logging.getLogger(__name__)

STATUS = {
    InvalidJson: (400, 'invalid_json'),
    InvalidRequest: (400, 'invalid_request'),
    InvalidApiKey: (401, 'unauthorized'),
    PermissionDenied: (403, 'forbidden'),
    NotFound: (404, 'not_found'),
    MethodNotAllowed: (405, 'method_not_allowed'),
    Conflict: (409, 'conflict'),
    PayloadTooLarge: (413, 'payload_too_large'),
    UnsupportedMediaType: (415, 'unsupported_media_type'),
    InvalidField: (422, 'invalid_field'),
    RateLimited: (429, 'rate_limited'),
    Overloaded: (503, 'overloaded'),
    InsufficientStorage: (507, 'insufficient_storage'),
}
HTTP_CODES = {400: 'bad_request', 404: 'not_found', 405: 'method_not_allowed', 413: 'payload_too_large'}


def error_body(code: str, message: str, field: str | None = None) -> dict:
    # Messages quote what the client sent; text without a UTF-8 form would make the answer itself fail.
    message = escape_surrogates(message)
    field = None if field is None else escape_surrogates(field)
    return {'error': {'code': code, 'message': message, 'field': field}}


def error_response(exc: PulseKitError) -> Response:
    status, code = next((v for cls, v in STATUS.items() if isinstance(exc, cls)), (400, 'bad_request'))
    headers = {}
    retry_after = getattr(exc, 'retry_after_s', None)
    if retry_after is not None:
        headers['Retry-After'] = str(retry_after)
    if status == 401:
        headers['WWW-Authenticate'] = 'Bearer realm="pulsekit"'
    headers.update(getattr(exc, 'headers', None) or {})  # protocol-specific extras, e.g. X-Sentry-Rate-Limits
    return json_response(error_body(code, exc.message, exc.field), status, headers)


def internal_error_response() -> Response:
    """The JSON 500 of the API (what went wrong is logged, never sent)."""
    return json_response(error_body('internal_error', 'the server failed; the request may be retried'), 500)


def install_error_handlers(app: FastAPI, *, http_errors: bool = True) -> None:
    """Map domain errors to JSON; with `http_errors`, also routing errors (404/405) — not on NiceGUI's own app,
    whose HTML pages must keep their own 404."""

    async def on_domain_error(_request: Request, exc: PulseKitError) -> Response:
        return error_response(exc)

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, 'error')
        return json_response(error_body(code, str(exc.detail)), exc.status_code, getattr(exc, 'headers', None))

    async def on_validation_error(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        field = '.'.join(str(p) for p in first.get('loc', ())[1:]) or None
        return json_response(error_body('invalid_request', first.get('msg', 'invalid request'), field), 400)

    async def on_unexpected_error(request: Request, exc: Exception) -> Response:
        log.error('unhandled error on %s %s', request.method, request.url.path, exc_info=exc)
        if request.url.path.startswith('/api/'):
            return internal_error_response()
        return PlainTextResponse('Internal Server Error', status_code=500)

    app.add_exception_handler(PulseKitError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    if http_errors:
        app.add_exception_handler(StarletteHTTPException, on_http_error)
        app.add_exception_handler(Exception, on_unexpected_error)
