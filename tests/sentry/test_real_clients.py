"""The official Sentry SDKs, unchanged (default transports and compression), against a live server.

Each client runs in its own process, like a real app: `sentry-sdk` from PyPI and
`@sentry/node` from npm (tests/sentry/node, installed by scripts/install-test-deps.sh).
What they sent is read back through the read API (GET /api/v1/events).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
NODE_DIR = HERE / 'node'
CLIENT_TIMEOUT_S = 60


def run_client(command: list[str], dsn: str) -> dict:
    out = subprocess.run(
        command,
        cwd=ROOT,  # the SDKs mark frames under the working directory as in-app
        env={**os.environ, 'PULSEKIT_DSN': dsn},
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    sent = json.loads(next(line for line in out.stdout.splitlines() if line.startswith('{')))
    sent['client_output'] = (out.stdout + out.stderr)[-3000:]
    return sent


def stored(server, key: str, sent: dict) -> dict[str, dict]:
    """The project's stored events by Sentry event id (32 hex digits, as the SDK returned them)."""
    events = {e['id'].replace('-', ''): e for e in server.events(key, limit=50)}
    missing = [
        name
        for name, event_id in sent.items()
        if isinstance(event_id, str) and len(event_id) == 32 and event_id not in events
    ]
    log = server.log()[-3000:]
    assert not missing, f'not stored: {missing}\nclient: {sent["client_output"]}\nserver log: {log}'
    return events


def functions(stacktrace: dict) -> list[str]:
    return [f.get('function') for f in stacktrace['frames']]


@pytest.fixture
def project(live_server, request):
    project_id, key = live_server.create_project(request.node.name)
    return project_id, key, f'http://{key}@127.0.0.1:{live_server.port}/{project_id}'


def test_sentry_python_sdk_events_are_stored_as_native_events(live_server, project):
    project_id, key, dsn = project
    sent = run_client([sys.executable, str(HERE / 'send_python.py')], dsn)
    assert sent['compression'] == 'br'  # the default transport's choice with brotli installed
    events = stored(live_server, key, sent)

    error = events[sent['error']]
    assert error['project_id'] == project_id
    assert error['type'] == 'error'
    assert error['level'] == 'error'
    assert error['exception']['type'] == 'RuntimeError'
    assert error['exception']['value'] == 'checkout failed for cart of 1 lines'
    assert functions(error['stacktrace']) == ['main', 'checkout']
    assert [f['in_app'] for f in error['stacktrace']['frames']] == [True, True]
    lookup, key_error = error['exception']['chain']
    assert (lookup['type'], lookup['value']) == ('LookupError', 'no price for plan pro in region apac')
    assert functions(lookup['stacktrace']) == ['checkout', '<genexpr>', 'price_for']
    assert (key_error['type'], key_error['value']) == ('KeyError', "'apac'")
    assert functions(key_error['stacktrace']) == ['price_for', 'load_price_table']
    failing = error['stacktrace']['frames'][-1]
    assert failing['context_line'].strip().startswith('raise RuntimeError(')
    assert failing['filename'].endswith('send_python.py')
    assert failing['lineno'] > 0
    assert error['tags'] == {'region': 'eu-west', 'customer_tier': 'gold'}
    assert error['user'] == {'id': '42', 'email': 'ada@example.com', 'username': 'ada'}
    assert error['release'] == 'shop-py@2.4.1'
    assert error['environment'] == 'production'
    assert error['issue_id'] is not None
    assert [b['message'] for b in error['metadata']['breadcrumbs']][-2:] == [
        'added 3 seats of pro',
        'GET /prices?region=apac',
    ]
    assert error['metadata']['platform'] == 'python'
    assert error['metadata']['sdk']['name'].startswith('sentry.python')

    message = events[sent['message']]
    assert (message['type'], message['level']) == ('message', 'warning')
    assert message['message'] == 'cart abandoned after 3 retries'
    assert message['exception'] is None
    assert message['tags'] == {'region': 'eu-west', 'customer_tier': 'gold'}
    assert message['user']['id'] == '42'
    assert message['release'] == 'shop-py@2.4.1'


def test_sentry_node_sdk_events_are_stored_as_native_events(live_server, project):
    assert shutil.which('node'), 'node is required: install Node.js 20+'
    assert (NODE_DIR / 'node_modules' / '@sentry' / 'node').is_dir(), 'run scripts/install-test-deps.sh (npm ci)'
    project_id, key, dsn = project
    sent = run_client(['node', str(NODE_DIR / 'send.mjs')], dsn)
    assert sent['flushed'] is True
    events = stored(live_server, key, sent)

    error = events[sent['error']]
    assert error['project_id'] == project_id
    assert (error['type'], error['level']) == ('error', 'error')
    assert error['exception']['type'] == 'Error'
    assert error['exception']['value'] == 'checkout failed for cart of 1 lines'
    frames = error['stacktrace']['frames']
    app_frames = [f['function'] for f in frames if f['in_app']]
    assert app_frames == ['?', 'main', 'checkout']  # '?': the module's top level
    assert all(not f['in_app'] for f in frames if f['filename'].startswith('node:'))
    assert frames[-1]['context_line'].strip().startswith('throw new Error(`checkout failed')
    assert frames[-1]['colno'] > 0
    cause, root = error['exception']['chain']
    assert (cause['type'], cause['value']) == ('Error', 'no price for plan pro in region apac')
    assert [f['function'] for f in cause['stacktrace']['frames'] if f['in_app']][-2:] == ['?', 'priceFor']
    assert root['type'] == 'TypeError'
    assert "reading 'pro'" in root['value']
    assert [f['function'] for f in root['stacktrace']['frames'] if f['in_app']][-2:] == ['priceFor', 'loadPriceTable']
    assert error['tags'] == {'region': 'eu-west', 'customer_tier': 'gold'}
    assert error['user'] == {'id': '7', 'email': 'grace@example.com', 'username': 'grace'}
    assert error['release'] == 'shop-node@1.2.3'
    assert error['environment'] == 'staging'
    assert error['issue_id'] is not None
    assert [b['message'] for b in error['metadata']['breadcrumbs']][-2:] == [
        'added 3 seats of pro',
        'GET /prices?region=apac',
    ]
    assert error['metadata']['platform'] == 'node'

    message = events[sent['message']]
    assert (message['type'], message['level']) == ('message', 'warning')
    assert message['message'] == 'cart abandoned after 3 retries'
    assert message['exception'] is None
    assert [f['function'] for f in message['stacktrace']['frames'] if f['in_app']] == ['?', 'main']

    large = events[sent['large']]  # sent gzipped and chunked by the SDK's transport
    assert large['exception']['value'] == 'large payload'
    assert large['metadata']['extra']['blob'].startswith('xxxx')
