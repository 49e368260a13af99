"""The HTTP transport: keep-alive, proxies, TLS with ca_certs, a refused key, and a queue bounded in bytes."""

from __future__ import annotations

import http.server
import logging
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import urllib.request

import pytest
from conftest import API_KEY, CapturingServer

import pulsekit_sdk


def test_batches_share_one_kept_alive_connection(make_client, server):
    client = make_client()
    for n in range(3):
        client.capture_message(f'batch {n}')
        assert client.flush(5.0)

    assert len(server.requests) == 3
    assert server.connections == 1


class ForwardProxy:
    """A plain-HTTP forward proxy on 127.0.0.1 that records the request lines it forwards."""

    def __init__(self):
        self.request_lines: list = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                proxy.request_lines.append(self.requestline)
                body = self.rfile.read(int(self.headers['Content-Length']))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ('host', 'proxy-connection')}
                forwarded = urllib.request.Request(self.path, data=body, headers=headers, method='POST')
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(forwarded, timeout=5) as answer:
                    payload = answer.read()
                    self.send_response(answer.status)
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self._httpd.server_address[1]}'
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def proxy():
    forward = ForwardProxy()
    yield forward
    forward.close()


def test_the_proxy_option_sends_through_the_proxy(make_client, server, proxy):
    client = make_client(proxy=proxy.url)
    client.capture_message('via proxy')

    assert client.flush(5.0)
    assert proxy.request_lines == [f'POST {server.url}/api/v1/events/batch HTTP/1.1']
    assert [event['message'] for event in server.events()] == ['via proxy']


def test_http_proxy_from_the_environment_is_used_unless_no_proxy_exempts_the_host(
    make_client, server, proxy, monkeypatch
):
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.delenv('no_proxy', raising=False)
    proxied = make_client()
    proxied.capture_message('through the environment proxy')
    assert proxied.flush(5.0)

    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    direct = make_client()
    direct.capture_message('exempt by NO_PROXY')
    assert direct.flush(5.0)

    assert len(proxy.request_lines) == 1
    assert sorted(event['message'] for event in server.events()) == [
        'exempt by NO_PROXY',
        'through the environment proxy',
    ]


@pytest.fixture
def tls_server(tmp_path):
    """The capturing server behind TLS with a self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
         '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', str(key), '-out', str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    capturing = CapturingServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    capturing._httpd.socket = context.wrap_socket(capturing._httpd.socket, server_side=True)
    capturing.url = capturing.url.replace('http://', 'https://')
    yield capturing, str(cert)
    capturing.close()


def test_https_with_ca_certs_verifies_the_servers_certificate(tls_server, sleeps):
    server, cert = tls_server
    trusted = pulsekit_sdk.Client(pulsekit_sdk.Options.build(endpoint=server.url, api_key=API_KEY, ca_certs=cert))
    trusted.capture_message('over tls')
    assert trusted.flush(5.0)
    trusted.close(1.0)

    untrusted = pulsekit_sdk.Client(
        pulsekit_sdk.Options.build(endpoint=server.url, api_key=API_KEY, max_retries=0), sleep=sleeps
    )
    untrusted.capture_message('not trusted')
    assert not untrusted.flush(5.0)
    untrusted.close(1.0)
    assert [event['message'] for event in server.events()] == ['over tls']
    assert untrusted.dropped_events() == {'server_unreachable': 1}


def test_a_refused_key_stops_sending_logs_one_line_without_the_key_and_flush_reports_it(make_client, server, caplog):
    server.respond(401, times=5)
    client = make_client()
    with caplog.at_level(logging.ERROR, logger='pulsekit_sdk'):
        client.capture_message('first')
        assert not client.flush(5.0)
        client.capture_message('second')
        client.capture_message('third')
        assert not client.flush(5.0)

    assert len(server.requests) == 1, 'after a 401 nothing more is sent'
    (line,) = [record.getMessage() for record in caplog.records]
    assert server.url.removeprefix('http://') in line and API_KEY[:7] in line
    assert API_KEY not in line
    assert client.dropped_events() == {'unauthorized': 3}


def test_the_queue_is_bounded_in_bytes_and_drops_are_counted(make_client, server):
    client = make_client(max_queue_bytes=20_000, max_batch_size=1000)
    for n in range(50):
        client.capture(type='big', metadata={'payload': 'x' * 1000, 'n': n})

    drops = client.dropped_events()['queue_bytes_full']
    assert 25 < drops < 50
    assert not client.flush(5.0)
    assert len(server.events()) == 50 - drops


MEMORY_SCRIPT = """
import resource, sys
import pulsekit_sdk

def rss_mb():
    with open('/proc/self/status') as status:
        return next(int(line.split()[1]) for line in status if line.startswith('VmRSS')) / 1024

pulsekit_sdk.init(endpoint=sys.argv[1], api_key='pk_test', batch_interval_s=60, max_retries=0, log_level=None)

def dive(depth):
    if depth == 0:
        raise RecursionError('x' * 2000)
    dive(depth - 1)

start = rss_mb()
for _ in range(2000):
    try:
        dive(240)
    except RecursionError as exc:
        pulsekit_sdk.capture_exception(exc)
print(round(rss_mb() - start, 1), pulsekit_sdk.get_client().dropped_events().get('queue_bytes_full', 0))
"""


def test_deep_stacks_with_the_server_down_keep_the_process_small(tmp_path):
    with socket.socket() as placeholder:  # a port nothing listens on
        placeholder.bind(('127.0.0.1', 0))
        down = f'http://127.0.0.1:{placeholder.getsockname()[1]}'
    script = tmp_path / 'deep.py'
    script.write_text(textwrap.dedent(MEMORY_SCRIPT))
    result = subprocess.run(
        [sys.executable, str(script), down], capture_output=True, text=True, timeout=120, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr
    growth_mb, dropped = result.stdout.split()
    assert float(growth_mb) < 50, f'RSS grew {growth_mb} MB (was 460 MB before the byte bound)'
    assert int(dropped) > 1000
