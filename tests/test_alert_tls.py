"""Pinned connections keep TLS intact: the request goes to the checked IP, yet the certificate is
verified for the URL's host name (SNI) and the Host header names it too."""

import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from pulsekit.alerts.dispatcher import Dispatcher


def make_certificate(folder) -> tuple[str, str]:
    cert, key = str(folder / 'cert.pem'), str(folder / 'key.pem')
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
         '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class Recorder(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length') or 0))
        Recorder.hosts.append(self.headers.get('host'))
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')

    def log_message(self, *args):
        pass


async def test_https_webhook_to_a_pinned_address_verifies_the_certificate_for_the_host_name(tmp_path):
    cert, key = make_certificate(tmp_path)
    server = ThreadingHTTPServer(('127.0.0.1', 0), Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    trusting = ssl.create_default_context(cafile=cert)
    dispatcher = Dispatcher(lambda fn: None, verify=trusting)
    try:
        url = f'https://localhost:{port}/hook'
        attempt = await dispatcher.send(url, 'whsec_' + 'A' * 32, 'msg_1', b'{}', allow_private=True)
        assert attempt.status_code == 200 and attempt.error is None
        assert Recorder.hosts == [f'localhost:{port}']
        # The same server reached by its IP: the certificate does not name 127.0.0.1, so TLS refuses it.
        refused = await dispatcher.send(f'https://127.0.0.1:{port}/hook', 'whsec_' + 'A' * 32, 'msg_2', b'{}', True)
        assert refused.status_code is None and 'certificate' in refused.error.lower()
    finally:
        await dispatcher.close()
        server.shutdown()
        server.server_close()
