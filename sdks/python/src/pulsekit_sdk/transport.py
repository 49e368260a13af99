"""Delivery of a batch of events: the Transport interface and its HTTP implementation.

A transport only sends. It tells the worker what to do next by raising RetryLater (try the
same batch again, perhaps after a delay the server asked for) or BatchRejected (never retry);
retrying, backoff and counting live in worker.py.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import socket
import ssl
import time
import urllib.request
from urllib.parse import urlsplit

from .version import VERSION

BATCH_PATH = '/api/v1/events/batch'
MAX_BODY_BYTES = 4_500_000  # the server accepts 5,000,000 decompressed bytes; keep a margin
MAX_RETRY_AFTER_S = 60.0  # a server asking for longer is waited for this long, then asked again
MAX_ERROR_BODY_BYTES = 64 * 1024
# A kept-alive connection the server closed while idle fails on reuse before any answer: that
# request is sent again at once on a new connection instead of waiting for a backoff.
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class RetryLater(Exception):
    """The batch could not be delivered now; send the same batch (same ids) again later.

    kind says why, and names the drop reason when the batch is finally given up:
    server_unreachable, timeout, server_busy or server_error.
    """

    def __init__(self, reason: str, retry_after_s: float | None = None, kind: str = 'server_error'):
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.kind = kind


class BatchRejected(Exception):
    """The server refused the batch (a 4xx other than 429): sending it again cannot help."""

    def __init__(self, reason: str, status: int = 0, code: str = ''):
        super().__init__(reason)
        self.status = status
        self.code = code


class Unauthorized(BatchRejected):
    """401/403: the key is unknown, revoked or lacks `ingest`. Nothing will be accepted until init() again."""


class Transport:
    """Base class of transports. send(batch) is called from the SDK's worker thread only."""

    def send(self, batch: list) -> None:
        """Deliver the events (wire dicts) or raise RetryLater / BatchRejected."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources; called once when the client closes."""


class HttpTransport(Transport):
    """POSTs gzip-compressed JSON batches to {endpoint}/api/v1/events/batch over one kept-alive connection.

    The worker hands it events already encoded (send_encoded), so it only joins, compresses and posts.
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        timeout_s: float = 10.0,
        proxy: str | None = None,
        ca_certs: str | None = None,
    ):
        parts = urlsplit(endpoint)
        self._is_https = parts.scheme == 'https'
        self._host = parts.hostname or ''
        self._port = parts.port or (443 if self._is_https else 80)
        self._path = parts.path.rstrip('/') + BATCH_PATH
        self._timeout_s = timeout_s
        self._proxy = urlsplit(proxy or proxy_from_environment(parts.scheme, self._host) or '')
        self._ssl_context = ssl.create_default_context(cafile=ca_certs) if self._is_https else None
        self._connection: http.client.HTTPConnection | None = None
        self._headers = {
            'Content-Type': 'application/json',
            'Content-Encoding': 'gzip',
            'X-PulseKit-Key': api_key,
            'User-Agent': f'pulsekit-python/{VERSION}',
        }

    def send(self, batch: list) -> None:
        self.send_encoded([encode_event(event) for event in batch])

    def send_encoded(self, items: list) -> None:
        """Deliver events given as UTF-8 JSON bytes each."""
        # Retrying after a later body failed re-sends the earlier ones too; the server ignores
        # ids it already stored, so that costs bandwidth only.
        for body in join_bodies(items):
            self._post(gzip.compress(body, compresslevel=6))

    def close(self) -> None:
        self._disconnect()

    def _connect(self) -> http.client.HTTPConnection:
        connection = self._new_connection()
        connection._pulsekit_internal = True  # not an app request: no breadcrumb for it
        return connection

    def _new_connection(self) -> http.client.HTTPConnection:
        # http.client rather than urllib: no redirects followed, and the connection is kept alive.
        if self._proxy.hostname:
            proxy_port = self._proxy.port or 80
            if self._is_https:
                connection = http.client.HTTPSConnection(
                    self._proxy.hostname, proxy_port, timeout=self._timeout_s, context=self._ssl_context
                )
                connection.set_tunnel(self._host, self._port)
                return connection
            return http.client.HTTPConnection(self._proxy.hostname, proxy_port, timeout=self._timeout_s)
        if self._is_https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout_s, context=self._ssl_context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _post(self, body: bytes) -> None:
        # A plain-http proxy is sent the absolute URL; a tunnel (https) and no proxy, the path.
        target = self._path
        if self._proxy.hostname and not self._is_https:
            target = f'http://{self._host}:{self._port}{self._path}'
        for attempt in (1, 2):
            is_reused = self._connection is not None
            if self._connection is None:
                self._connection = self._connect()
            try:
                self._connection.request('POST', target, body, self._headers)
                response = self._connection.getresponse()
                answer = response.read(MAX_ERROR_BODY_BYTES)
                if not response.isclosed():
                    response.read()  # drain, so the connection can carry the next request
                status = response.status
                retry_after = parse_retry_after(response.getheader('Retry-After'))
                if response.will_close:
                    self._disconnect()
                break
            except _STALE_CONNECTION_ERRORS as exc:
                self._disconnect()
                if is_reused and attempt == 1:
                    continue
                raise RetryLater(f'network error: {exc!r}', kind='server_unreachable') from exc
            except (socket.timeout, TimeoutError) as exc:
                self._disconnect()
                raise RetryLater(f'no answer within {self._timeout_s} s', kind='timeout') from exc
            except (OSError, http.client.HTTPException) as exc:
                self._disconnect()
                raise RetryLater(f'network error: {exc!r}', kind='server_unreachable') from exc
        if 200 <= status < 300:
            return
        if status in (429, 503):
            raise RetryLater(f'server busy ({status})', retry_after, kind='server_busy')
        if status >= 500:
            raise RetryLater(f'server error ({status})', kind='server_error')
        code, message = _error_of(answer)
        if status in (401, 403):
            raise Unauthorized(f'server refused the key ({status} {code}): {message}', status, code)
        raise BatchRejected(f'server refused the batch ({status} {code}): {message}', status, code)


def proxy_from_environment(scheme: str, host: str) -> str | None:
    """The proxy HTTPS_PROXY/HTTP_PROXY name for this scheme, unless NO_PROXY exempts the host."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


def encode_event(event: dict) -> bytes:
    """One event as compact UTF-8 JSON; a lone surrogate becomes '?' rather than failing the event."""
    return json.dumps(event, ensure_ascii=False, separators=(',', ':')).encode('utf-8', 'replace')


def join_bodies(items: list) -> list:
    """Encoded events as one or more bodies {"events": [...]}, each under MAX_BODY_BYTES."""
    bodies, current, size = [], [], 0
    for item in items:
        if current and size + len(item) + 1 > MAX_BODY_BYTES:
            bodies.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item) + 1
    if current:
        bodies.append(current)
    return [b'{"events":[' + b','.join(chunk) + b']}' for chunk in bodies]


def encode_bodies(batch: list) -> list:
    """The batch as one or more JSON bodies {"events": [...]}, each under MAX_BODY_BYTES."""
    return join_bodies([encode_event(event) for event in batch])


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped at MAX_RETRY_AFTER_S."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _error_of(answer: bytes) -> tuple:
    """(code, message) of the protocol's error body, or what there is of it."""
    try:
        error = json.loads(answer.decode('utf-8', 'replace'))['error']
        field = f' (field {error["field"]})' if error.get('field') else ''
        return str(error.get('code', '')), f'{error.get("message", "")}{field}'
    except (ValueError, KeyError, TypeError, AttributeError):
        return '', answer[:500].decode('utf-8', 'replace')
