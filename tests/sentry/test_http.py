"""The Sentry endpoints over real HTTP: keys, encodings, limits, CORS, skipped items, grouping."""

from __future__ import annotations

import gzip
import uuid
import zlib

import brotli
import httpx
import orjson
import pytest

from .conftest import start_server

try:
    from compression import zstd
except ImportError:
    from backports import zstd


def sentry_event(**fields) -> dict:
    return {
        'event_id': uuid.uuid4().hex,
        'level': 'error',
        'platform': 'python',
        'exception': {
            'values': [
                {
                    'type': 'ZeroDivisionError',
                    'value': 'division by zero',
                    'stacktrace': {
                        'frames': [
                            {'filename': 'app/main.py', 'function': 'handle', 'module': 'app.main', 'in_app': True},
                            {
                                'filename': 'app/billing.py',
                                'function': 'ratio',
                                'module': 'app.billing',
                                'in_app': True,
                            },
                        ]
                    },
                }
            ]
        },
        **fields,
    }


def envelope(*items: tuple[str, bytes], **headers) -> bytes:
    lines = [orjson.dumps(headers)]
    for item_type, payload in items:
        lines += [orjson.dumps({'type': item_type, 'length': len(payload)}), payload]
    return b'\n'.join(lines) + b'\n'


def event_envelope(event: dict, **headers) -> bytes:
    return envelope(('event', orjson.dumps(event)), event_id=event['event_id'], **headers)


def auth(key: str) -> dict:
    return {'X-Sentry-Auth': f'Sentry sentry_version=7, sentry_client=test/1.0, sentry_key={key}'}


def post(server, path: str, body: bytes, headers: dict | None = None, **kwargs) -> httpx.Response:
    return httpx.post(f'{server.url}{path}', content=body, headers=headers or {}, timeout=30, **kwargs)


def stored_ids(server) -> set[str]:
    return {e['id'].replace('-', '') for e in server.events(limit=200)}


@pytest.mark.parametrize(
    'how',
    ['x-sentry-auth header', 'query parameter', 'envelope dsn', 'store endpoint'],
)
def test_every_place_a_sentry_sdk_puts_its_key_is_accepted(live_server, how):
    event = sentry_event()
    path, body, headers = f'/api/{live_server.project_id}/envelope/', event_envelope(event), {}
    if how == 'x-sentry-auth header':
        headers = auth(live_server.key)
    elif how == 'query parameter':
        path += f'?sentry_version=7&sentry_key={live_server.key}'
    elif how == 'envelope dsn':
        body = event_envelope(event, dsn=live_server.dsn)
    else:
        path, body, headers = f'/api/{live_server.project_id}/store/', orjson.dumps(event), auth(live_server.key)
    response = post(live_server, path, body, headers)
    assert response.status_code == 200, response.text
    assert response.json() == {'id': event['event_id']}
    assert event['event_id'] in stored_ids(live_server)


def test_keys_that_do_not_fit_are_refused_and_nothing_is_stored(live_server):
    other_project, other_key = live_server.create_project('Other')
    read_only = live_server.cli('key', 'create', '--project', 'shop', '--permissions', 'read')['key']
    path = f'/api/{live_server.project_id}/envelope/'
    cases = [
        ({}, 401),
        (auth('pk_' + 'x' * 32), 401),
        (auth(other_key), 403),  # a valid key, of another project
        (auth(read_only), 403),  # the right project, without ingest
    ]
    sent = []
    for headers, status in cases:
        event = sentry_event()
        sent.append(event['event_id'])
        response = post(live_server, path, event_envelope(event), headers)
        assert response.status_code == status, response.text
        assert response.json()['error']['code'] == {401: 'unauthorized', 403: 'forbidden'}[status]
        if not headers:  # the message tells a Sentry user where the key goes
            assert 'DSN' in response.json()['error']['message']
    response = post(
        live_server, f'/api/{other_project}/envelope/', event_envelope(sentry_event()), auth(live_server.key)
    )
    assert response.status_code == 403
    assert not set(sent) & stored_ids(live_server)


@pytest.mark.parametrize(
    ('encoding', 'compress'),
    [('gzip', gzip.compress), ('deflate', zlib.compress), ('br', brotli.compress), ('zstd', zstd.compress)],
)
def test_compressed_envelopes_are_stored(live_server, encoding, compress):
    event = sentry_event()
    headers = {**auth(live_server.key), 'Content-Encoding': encoding, 'Content-Type': 'application/x-sentry-envelope'}
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', compress(event_envelope(event)), headers)
    assert response.status_code == 200, response.text
    assert event['event_id'] in stored_ids(live_server)


def test_an_unknown_encoding_is_refused(live_server):
    headers = {**auth(live_server.key), 'Content-Encoding': 'compress'}
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', b'xxxx', headers)
    assert response.status_code == 415


@pytest.mark.parametrize(('encoding', 'compress'), [('gzip', gzip.compress), ('br', brotli.compress)])
def test_a_streamed_decompression_bomb_gets_413(live_server, encoding, compress):
    bomb = compress(b'{}\n{"type":"event"}\n{"message":"' + b'a' * 40_000_000 + b'"}\n')

    def chunks():  # no Content-Length: the body arrives chunked
        for start in range(0, len(bomb), 16 * 1024):
            yield bomb[start : start + 16 * 1024]

    headers = {**auth(live_server.key), 'Content-Encoding': encoding}
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', chunks(), headers)
    assert response.status_code == 413
    assert response.json()['error']['code'] == 'payload_too_large'
    assert httpx.get(f'{live_server.url}/api/v1/health').status_code == 200


def test_other_item_types_are_accepted_and_skipped(live_server):
    event = sentry_event()
    before = len(live_server.events(limit=200))
    body = envelope(
        ('session', b'{"sid":"7c7b6632","status":"ok","started":"2026-11-26T07:00:00Z","init":true}'),
        ('client_report', b'{"timestamp":1764140400,"discarded_events":[]}'),
        ('transaction', b'{"type":"transaction","transaction":"GET /","spans":[]}'),
        ('attachment', b'binary\n\x00\xffdata'),
        ('event', orjson.dumps(event)),
        ('profile', b'{}'),
        event_id=event['event_id'],
    )
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', body, auth(live_server.key))
    assert response.status_code == 200, response.text
    events = live_server.events(limit=200)
    assert len(events) == before + 1
    assert events[0]['id'].replace('-', '') == event['event_id']


def test_an_envelope_without_events_stores_nothing_and_answers_200(live_server):
    before = len(live_server.events(limit=200))
    event_id = uuid.uuid4().hex
    body = envelope(('session', b'{"sid":"1","status":"exited"}'), event_id=event_id)
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', body, auth(live_server.key))
    assert response.status_code == 200
    assert response.json() == {'id': event_id}
    assert len(live_server.events(limit=200)) == before


@pytest.mark.parametrize(
    'body',
    [b'', b'not an envelope', b'{}\n{"type":"event","length":999}\n{}', b'{}\n{"type":"event"}\n[1,2,3]\n'],
)
def test_malformed_envelopes_get_400(live_server, body):
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', body, auth(live_server.key))
    assert response.status_code == 400
    assert response.json()['error']['code'] == 'invalid_json'


def test_the_same_envelope_twice_stores_one_event(live_server):
    event = sentry_event()
    for _ in range(2):
        response = post(
            live_server, f'/api/{live_server.project_id}/envelope/', event_envelope(event), auth(live_server.key)
        )
        assert response.json() == {'id': event['event_id']}
    ids = [e['id'].replace('-', '') for e in live_server.events(limit=200)]
    assert ids.count(event['event_id']) == 1


def test_browser_sdks_get_cors_on_preflight_answers_and_errors(live_server):
    path = f'{live_server.url}/api/{live_server.project_id}/envelope/'
    preflight = httpx.options(
        path,
        headers={
            'Origin': 'https://shop.example',
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type, x-sentry-auth, content-encoding',
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers['access-control-allow-origin'] == '*'
    allowed = {h.strip() for h in preflight.headers['access-control-allow-headers'].split(',')}
    assert {'x-sentry-auth', 'content-type', 'content-encoding'} <= allowed
    assert 'POST' in preflight.headers['access-control-allow-methods']
    event = sentry_event()
    ok = post(
        live_server,
        f'/api/{live_server.project_id}/envelope/?sentry_key={live_server.key}',
        event_envelope(event),
        {'Origin': 'https://shop.example', 'Content-Type': 'text/plain;charset=UTF-8'},  # what browser SDKs send
    )
    assert ok.status_code == 200
    assert ok.headers['access-control-allow-origin'] == '*'
    refused = post(live_server, f'/api/{live_server.project_id}/envelope/', b'{}', {'Origin': 'https://shop.example'})
    assert refused.status_code == 401
    assert refused.headers['access-control-allow-origin'] == '*'
    # The native endpoints answer with their own CORS rules (api/cors.py, tests/test_cors.py).
    native = httpx.options(f'{live_server.url}/api/v1/events', headers={'Origin': 'https://shop.example'})
    assert native.headers['access-control-allow-origin'] == 'https://shop.example'
    assert 'x-sentry-auth' not in native.headers['access-control-allow-headers']


def test_unknown_sentry_like_paths_and_methods_answer_json(live_server):
    assert httpx.post(f'{live_server.url}/api/shop/envelope/', content=b'{}').status_code == 404
    response = httpx.get(f'{live_server.url}/api/{live_server.project_id}/envelope/')
    assert response.status_code == 405
    assert response.json()['error']['code'] == 'method_not_allowed'


def test_a_sentry_event_groups_with_its_native_twin_and_fingerprints_split_issues(live_server):
    project_id, key = live_server.create_project('Grouping')
    path = f'/api/{project_id}/envelope/'
    sentry = sentry_event()
    assert post(live_server, path, event_envelope(sentry), auth(key)).status_code == 200
    native = {
        'exception': {'type': 'ZeroDivisionError', 'value': 'division by zero'},
        'stacktrace': {
            'frames': [
                {'filename': 'app/main.py', 'function': 'handle', 'module': 'app.main', 'in_app': True},
                {'filename': 'app/billing.py', 'function': 'ratio', 'module': 'app.billing', 'in_app': True},
            ]
        },
    }
    response = httpx.post(f'{live_server.url}/api/v1/events', json=native, headers={'X-PulseKit-Key': key})
    assert response.status_code == 202
    tenants = [sentry_event(fingerprint=['{{ default }}', tenant]) for tenant in ('tenant-a', 'tenant-b', 'tenant-a')]
    for event in tenants:
        assert post(live_server, path, event_envelope(event), auth(key)).status_code == 200
    by_id = {e['id'].replace('-', ''): e for e in live_server.events(key, limit=50)}
    native_event = by_id[response.json()['id'].replace('-', '')]
    assert by_id[sentry['event_id']]['issue_id'] == native_event['issue_id'] is not None
    a1, b, a2 = (by_id[e['event_id']]['issue_id'] for e in tenants)
    assert a1 == a2
    assert len({a1, b, native_event['issue_id']}) == 3
    issues = httpx.get(f'{live_server.url}/api/v1/issues', headers={'X-PulseKit-Key': key}).json()['issues']
    titles = {i['id']: i['title'] for i in issues}
    assert titles[native_event['issue_id']] == 'ZeroDivisionError: division by zero'


def test_rate_limited_sentry_requests_get_429_with_retry_after_and_sentry_rate_limits(tmp_path):
    env = {'PULSEKIT_RATE_LIMIT_EVENTS_PER_S': '0.01', 'PULSEKIT_RATE_LIMIT_BURST_EVENTS': '1'}
    server = start_server(tmp_path / 'limited', env)
    try:
        path = f'/api/{server.project_id}/envelope/'
        assert post(server, path, event_envelope(sentry_event()), auth(server.key)).status_code == 200
        limited = post(server, path, event_envelope(sentry_event()), {**auth(server.key), 'Origin': 'https://x'})
        assert limited.status_code == 429
        retry_after = int(limited.headers['Retry-After'])
        assert retry_after >= 1
        assert limited.headers['X-Sentry-Rate-Limits'] == f'{retry_after}::key'
        assert limited.headers['access-control-allow-origin'] == '*'
        assert 'x-sentry-rate-limits' in limited.headers['access-control-expose-headers']
        assert len(server.events()) == 1
    finally:
        server.process.terminate()


def test_an_envelope_with_one_unreadable_event_stores_none_of_its_events(live_server):
    good = sentry_event()
    body = envelope(('event', orjson.dumps(good)), ('event', b'{"message": oops}'), event_id=good['event_id'])
    response = post(live_server, f'/api/{live_server.project_id}/envelope/', body, auth(live_server.key))
    assert response.status_code == 400
    assert good['event_id'] not in stored_ids(live_server)
