"""How `pulsekit serve` runs uvicorn: slow clients cannot hold a connection forever, and the number
of connections served at once is bounded.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) and the connections and
requests in flight (`limit_concurrency`: past it, requests are answered 503 and their connection
closed), but not the time a client takes to send a request: a connection that sends half a
header, or a body one byte a minute, would be kept for ever (slowloris). `GuardedHttpProtocol`
adds that: a request's headers must arrive within `header_timeout_s` of its first byte (or of the
connection), and its body within `body_timeout_s` of its headers. Past either, the client gets
408 (if no answer was started yet) and the connection is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import Settings

_TIMEOUT_BODY = b'{"error":{"code":"request_timeout","message":"the request was not received in time","field":null}}'
TIMEOUT_RESPONSE = (
    b'HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n'
    b'content-length: %d\r\n\r\n%s' % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a read deadline for each request's headers, then its body."""

    header_timeout_s = 10.0
    body_timeout_s = 60.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._arm(self.header_timeout_s, is_body=False)  # the first request's headers

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_deadline is None:  # a later request on a kept-alive connection
            self._arm(self.header_timeout_s, is_body=False)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):  # a websocket has no body
            self._arm(self.body_timeout_s, is_body=True)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, is_body: bool) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(seconds, self._on_read_timeout, is_body)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _on_read_timeout(self, is_body: bool) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        is_unanswered = (not cycle.response_started) if is_body else (cycle is None or cycle.response_complete)
        if is_unanswered:  # no answer begun for the request being read: say why the connection ends
            self.transport.write(TIMEOUT_RESPONSE)
        if is_body and not cycle.response_complete:
            # The app, waiting for the body, is told the client is gone; anything it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def protocol_for(settings: Settings) -> type[GuardedHttpProtocol]:
    """The protocol class with the deadlines of `settings` (uvicorn instantiates it per connection)."""
    return type(
        'PulseKitHttpProtocol',
        (GuardedHttpProtocol,),
        {'header_timeout_s': settings.header_timeout_s, 'body_timeout_s': settings.body_timeout_s},
    )


def uvicorn_options(settings: Settings) -> dict:
    """The uvicorn.run() options of `pulsekit serve` (besides the app, host and port)."""
    return {
        'http': protocol_for(settings),
        'ws': 'wsproto',
        'log_level': 'warning',
        'timeout_graceful_shutdown': 5,
        'timeout_keep_alive': settings.keep_alive_timeout_s,
        'limit_concurrency': settings.max_connections,
    }
