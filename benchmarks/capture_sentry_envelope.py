"""Capture a real sentry-sdk error envelope into benchmarks/fixtures/ (run once; the fixture is committed).

Starts a throw-away HTTP server on 127.0.0.1 that records what the official `sentry-sdk`
sends, points the SDK's DSN at it, raises an error with a cause chain from nested
functions (with tags, user, breadcrumbs and extra data, as a real app would) and stores the
decompressed envelope exactly as received.

    .venv/bin/python benchmarks/capture_sentry_envelope.py
"""

from __future__ import annotations

import gzip
import http.server
import sys
import threading
from pathlib import Path
from typing import ClassVar

import brotli
import sentry_sdk

FIXTURE = Path(__file__).parent / 'fixtures' / 'sentry-python-error.envelope'


class _Capture(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, bytes]]] = []  # (content-encoding, decompressed body)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers['Content-Length']))
        encoding = self.headers.get('Content-Encoding') or ''
        body = {'br': brotli.decompress, 'gzip': gzip.decompress}.get(encoding, bytes)(raw)
        self.bodies.append((encoding, body))
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(b'{"id": null}')

    def log_message(self, *args) -> None:
        pass


def load_price_table(region: str) -> dict:
    prices = {'eu': {'basic': 9, 'pro': 29}, 'us': {'basic': 10, 'pro': 30}}
    return prices[region]


def price_for(plan: str, region: str) -> int:
    try:
        return load_price_table(region)[plan]
    except KeyError as exc:
        raise LookupError(f'no price for plan {plan!r} in region {region!r}') from exc


def checkout(cart: list[dict], region: str) -> int:
    total = 0
    for line in cart:
        try:
            total += price_for(line['plan'], region) * line['seats']
        except LookupError as exc:
            raise RuntimeError(f'checkout failed for cart of {len(cart)} lines') from exc
    return total


def checkout_view(request: dict) -> dict:
    cart = request['session']['cart']
    return {'status': 200, 'total': checkout(cart, request['headers'].get('x-region', 'eu'))}


def dispatch(routes: dict, request: dict) -> dict:
    handler = routes[request['path']]
    return handler(request)


def handle_request(request: dict) -> dict:
    routes = {'/checkout': checkout_view, '/health': lambda request: {'status': 200}}
    try:
        return dispatch(routes, request)
    finally:
        request['handled'] = True


def main() -> None:
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sentry_sdk.init(
        dsn=f'http://pk_capture@127.0.0.1:{server.server_port}/1',
        release='shop@2.4.1',
        environment='production',
        server_name='web-1',
        default_integrations=True,
    )
    sentry_sdk.set_tag('region', 'apac')
    sentry_sdk.set_tag('customer_tier', 'gold')
    sentry_sdk.set_user({'id': '42', 'email': 'ada@example.com', 'username': 'ada'})
    sentry_sdk.set_context('order', {'id': 1234, 'items': 3, 'currency': 'EUR'})
    for step in range(28):
        sentry_sdk.add_breadcrumb(
            category='http' if step % 2 else 'query',
            message=f'step {step}: SELECT id, plan, seats FROM cart_lines WHERE cart_id = %s',
            level='info',
            data={'cart_id': 1234, 'duration_ms': 3 + step % 7, 'rows': step % 4},
        )
    cart = [{'plan': 'pro', 'seats': 3, 'note': 'renewal ' * 20}, {'plan': 'enterprise', 'seats': 40}]
    request = {
        'path': '/checkout',
        'headers': {'x-region': 'apac', 'user-agent': 'shop-web/2.4.1'},
        'session': {'cart': cart},
    }
    try:
        handle_request(request)
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=5)
    server.shutdown()
    events = [body for _, body in _Capture.bodies if b'"type":"event"' in body]
    if not events:
        sys.exit('no event envelope was captured')
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_bytes(events[0])
    encodings = sorted({encoding for encoding, _ in _Capture.bodies})
    print(f'wrote {FIXTURE} ({len(events[0]):,} bytes; sent with Content-Encoding {encodings})')


if __name__ == '__main__':
    main()
