"""A reverse proxy on 127.0.0.1 that plays an overloaded server, then forwards to the real one.

The first `refusals` requests get 503 + Retry-After without reaching the server. The next
`lost_answers` requests are forwarded and stored, but the client still gets a 503 (as when a
load balancer times out after the server committed): the retry carries the same ids, and the
server must not store them twice. After that, requests pass through unchanged.
"""

from __future__ import annotations

import http.client
import http.server
import json
import threading
from urllib.parse import urlsplit

FORWARDED_HEADERS = ('Content-Type', 'Content-Encoding', 'X-PulseKit-Key', 'Authorization', 'User-Agent')
RELAYED_HEADERS = ('Content-Type', 'Retry-After')
FORWARD_TIMEOUT_S = 30


class FlakyProxy:
    def __init__(self, target_url: str, refusals: int = 3, lost_answers: int = 1, retry_after_s: int = 1):
        self.refusals = refusals
        self.lost_answers = lost_answers
        self.retry_after_s = retry_after_s
        self.answers: list = []  # (status the client got, whether the server saw the request)
        self._target = urlsplit(target_url)
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                proxy._handle(self)

            def do_GET(self):
                proxy._handle(self)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self._httpd.server_address[1]}'
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get('Content-Length', 0)))
        with self._lock:
            number = len(self.answers) + 1
            self.answers.append(None)  # reserve this request's slot
        if number <= self.refusals:
            self._answer_busy(request)
            self.answers[number - 1] = (503, False)
            return
        status, headers, answer = self._forward(request, body)
        if number <= self.refusals + self.lost_answers:
            self._answer_busy(request)
            self.answers[number - 1] = (503, True)
            return
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header('Content-Length', str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)
        self.answers[number - 1] = (status, True)

    def _answer_busy(self, request: http.server.BaseHTTPRequestHandler) -> None:
        payload = json.dumps({'error': {'code': 'overloaded', 'message': 'proxy says: busy', 'field': None}}).encode()
        request.send_response(503)
        request.send_header('Retry-After', str(self.retry_after_s))
        request.send_header('Content-Type', 'application/json')
        request.send_header('Content-Length', str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _forward(self, request: http.server.BaseHTTPRequestHandler, body: bytes) -> tuple:
        connection = http.client.HTTPConnection(self._target.hostname, self._target.port, timeout=FORWARD_TIMEOUT_S)
        try:
            headers = {name: request.headers[name] for name in FORWARDED_HEADERS if request.headers.get(name)}
            connection.request(request.command, request.path, body if body else None, headers)
            response = connection.getresponse()
            answer = response.read()
            relayed = {name: response.getheader(name) for name in RELAYED_HEADERS if response.getheader(name)}
            return response.status, relayed, answer
        finally:
            connection.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
