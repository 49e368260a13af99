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
import time
from urllib.parse import urlsplit

from .version import VERSION

BATCH_PATH = '/api/v1/events/batch'
MAX_BODY_BYTES = 4_500_000  # the server accepts 5,000,000 decompressed bytes; keep a margin
MAX_RETRY_AFTER_S = 60.0  # a server asking for longer is waited for this long, then asked again
MAX_ERROR_BODY_BYTES = 64 * 1024


class RetryLater(Exception):
    """The batch could not be delivered now; send the same batch (same ids) again later."""

    def __init__(self, reason: str, retry_after_s: float | None = None):
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class BatchRejected(Exception):
    """The server refused the batch (a 4xx other than 429): sending it again cannot help."""

    def __init__(self, reason: str, status: int = 0, code: str = ''):
        super().__init__(reason)
        self.status = status
        self.code = code


class Transport:
    """Base class of transports. send(batch) is called from the SDK's worker thread only."""

    def send(self, batch: list) -> None:
        """Deliver the events (wire dicts) or raise RetryLater / BatchRejected."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources; called once when the client closes."""


class HttpTransport(Transport):
    """POSTs gzip-compressed JSON batches to {endpoint}/api/v1/events/batch with the key header."""

    def __init__(self, endpoint: str, api_key: str, timeout_s: float = 10.0):
        parts = urlsplit(endpoint)
        self._is_https = parts.scheme == 'https'
        self._host = parts.hostname or ''
        self._port = parts.port
        self._path = parts.path.rstrip('/') + BATCH_PATH
        self._timeout_s = timeout_s
        self._headers = {
            'Content-Type': 'application/json',
            'Content-Encoding': 'gzip',
            'X-PulseKit-Key': api_key,
            'User-Agent': f'pulsekit-python/{VERSION}',
        }

    def send(self, batch: list) -> None:
        # Retrying after a later body failed re-sends the earlier ones too; the server ignores
        # ids it already stored, so that costs bandwidth only.
        for body in encode_bodies(batch):
            self._post(body)

    def _post(self, body: bytes) -> None:
        # http.client rather than urllib: no redirects followed, no proxy picked up from the environment.
        connection_class = http.client.HTTPSConnection if self._is_https else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=self._timeout_s)
        try:
            connection.request('POST', self._path, gzip.compress(body), self._headers)
            response = connection.getresponse()
            answer = response.read(MAX_ERROR_BODY_BYTES)
            status = response.status
            retry_after = parse_retry_after(response.getheader('Retry-After'))
        except (OSError, http.client.HTTPException) as exc:
            raise RetryLater(f'network error: {exc!r}') from exc
        finally:
            connection.close()
        if 200 <= status < 300:
            return
        if status in (429, 503):
            raise RetryLater(f'server busy ({status})', retry_after)
        if status >= 500:
            raise RetryLater(f'server error ({status})')
        code, message = _error_of(answer)
        raise BatchRejected(f'server refused the batch ({status} {code}): {message}', status, code)


def encode_bodies(batch: list) -> list:
    """The batch as one or more JSON bodies {"events": [...]}, each under MAX_BODY_BYTES."""
    encoded = [json.dumps(event, ensure_ascii=False, separators=(',', ':')).encode() for event in batch]
    bodies, current, size = [], [], 0
    for item in encoded:
        if current and size + len(item) + 1 > MAX_BODY_BYTES:
            bodies.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item) + 1
    if current:
        bodies.append(current)
    return [b'{"events":[' + b','.join(items) + b']}' for items in bodies]


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
