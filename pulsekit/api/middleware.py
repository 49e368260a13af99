"""Pure ASGI middleware (no BaseHTTPMiddleware: it would cost the ingest path a task per request)."""

from __future__ import annotations

import orjson


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` as they arrive (413), whether or not Content-Length is sent.

    This guards every route, the dashboard's included; the API additionally caps the size
    after decompression when it reads the body.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        for name, value in scope['headers']:
            if name == b'content-length':
                if not value.isdigit() or int(value) > self.max_bytes:
                    return await self._reject(send)
                break
        received = 0
        response_started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal response_started
            if message['type'] == 'http.response.start':
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._reject(send)

    async def _reject(self, send):
        body = orjson.dumps(
            {
                'error': {
                    'code': 'payload_too_large',
                    'message': f'the body is larger than {self.max_bytes:,} bytes',
                    'field': None,
                }
            }
        )
        await send(
            {
                'type': 'http.response.start',
                'status': 413,
                'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())],
            }
        )
        await send({'type': 'http.response.body', 'body': body})
