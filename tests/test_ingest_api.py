"""Ingestion through the front door: the production app over HTTP (ASGI), a real SQLite file."""

import asyncio
import gzip
import time
import uuid
import zlib
from dataclasses import replace

import orjson
import pytest

from pulsekit.events.search_index import INDEX_DELAY_S
from pulsekit.models import Event, Issue

from .conftest import start_api
from .databases import writer_held

ERROR_EVENT = {
    'type': 'error',
    'level': 'error',
    'message': 'division by zero',
    'exception': {'type': 'ZeroDivisionError', 'value': 'division by zero', 'chain': [{'type': 'KeyError'}]},
    'stacktrace': {
        'frames': [
            {'filename': 'app/main.py', 'function': 'handle', 'module': 'app.main', 'lineno': 12, 'in_app': True},
            {'filename': 'app/billing.py', 'function': 'ratio', 'module': 'app.billing', 'lineno': 40, 'in_app': True},
        ]
    },
    'environment': 'production',
    'release': 'shop@2.4.1',
    'tags': {'region': 'eu-west'},
    'user': {'id': '42', 'email': 'ada@example.com'},
    'metadata': {'order_id': 1234},
}


def stored_events(api) -> list:
    with api.services.db.connection_context():
        return list(Event.select().order_by(Event.seq))


def count_events(api) -> int:
    return len(stored_events(api))


async def post(api, path, body, key=None, **headers):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return await api.client.post(path, content=data, headers=api.headers(key, **headers))


async def test_single_event_is_stored_and_acknowledged_with_its_id(api):
    event_id = str(uuid.uuid4())
    response = await post(api, '/api/v1/events', {**ERROR_EVENT, 'id': event_id})
    assert response.status_code == 202
    assert response.json() == {'id': event_id}
    [row] = stored_events(api)  # a 202 means it is committed: no waiting needed
    assert str(row.id) == event_id and row.project_id == api.project_id
    assert row.exception['chain'] == [{'type': 'KeyError'}]
    assert row.issue_id is not None


async def test_bearer_header_works_like_the_pulsekit_header(api):
    response = await api.client.post(
        '/api/v1/events',
        content=b'{"message": "hi"}',
        headers={'Authorization': f'Bearer {api.ingest_key}', 'Content-Type': 'application/json'},
    )
    assert response.status_code == 202


async def test_batch_returns_ids_in_order_and_stores_all(api):
    ids = [str(uuid.uuid4()) for _ in range(5)]
    response = await post(api, '/api/v1/events/batch', {'events': [{'id': i, 'message': 'm'} for i in ids]})
    assert response.status_code == 202
    assert response.json() == {'ids': ids}
    assert count_events(api) == 5


async def test_retried_requests_store_nothing_twice(api):
    event_id = str(uuid.uuid4())
    for _ in range(3):
        response = await post(api, '/api/v1/events', {**ERROR_EVENT, 'id': event_id})
        assert response.status_code == 202 and response.json() == {'id': event_id}
    batch = {'events': [{**ERROR_EVENT, 'id': event_id}, {**ERROR_EVENT, 'id': event_id}]}
    assert (await post(api, '/api/v1/events/batch', batch)).status_code == 202
    assert count_events(api) == 1
    with api.services.db.connection_context():
        assert Issue.get().event_count == 1


async def test_batch_with_one_invalid_event_stores_nothing(api):
    events = [{'message': 'ok'}] * 3 + [{'level': 'loud'}]
    response = await post(api, '/api/v1/events/batch', {'events': events})
    assert response.status_code == 422
    assert response.json()['error'] == {
        'code': 'invalid_field',
        'message': 'events[3].level must be one of debug, info, warning, error, fatal',
        'field': 'events[3].level',
    }
    assert count_events(api) == 0


async def test_gzip_bodies_are_accepted(api):
    body = gzip.compress(orjson.dumps({'events': [{'message': 'zipped'}] * 10}))
    response = await post(api, '/api/v1/events/batch', body, **{'Content-Encoding': 'gzip'})
    assert response.status_code == 202
    assert count_events(api) == 10


@pytest.mark.parametrize(
    ('body', 'headers', 'status', 'code'),
    [
        (b'{not json', {}, 400, 'invalid_json'),
        (b'', {}, 400, 'invalid_json'),
        (b'not gzip at all', {'Content-Encoding': 'gzip'}, 400, 'invalid_json'),
        (b'{"message": "x"}', {'Content-Type': 'text/plain'}, 415, 'unsupported_media_type'),
        (b'{"message": "x"}', {'Content-Encoding': 'compress'}, 415, 'unsupported_media_type'),
        (b'{"message": "x", "level": "loud"}', {}, 422, 'invalid_field'),
        (b'[1, 2]', {}, 422, 'invalid_field'),
    ],
)
async def test_bad_input_gets_a_json_error_and_changes_nothing(api, body, headers, status, code):
    response = await post(api, '/api/v1/events', body, **headers)
    assert response.status_code == status
    assert response.headers['content-type'] == 'application/json'
    assert response.json()['error']['code'] == code
    assert count_events(api) == 0


async def test_decompression_bomb_is_refused_with_413(api):
    bomb = gzip.compress(b'{"message": "' + b'a' * 6_000_000 + b'"}')
    assert len(bomb) < 100_000
    response = await post(api, '/api/v1/events', bomb, **{'Content-Encoding': 'gzip'})
    assert response.status_code == 413
    assert response.json()['error']['code'] == 'payload_too_large'
    assert count_events(api) == 0


async def test_body_over_the_limit_is_refused_with_413(api):
    big = orjson.dumps({'events': [{'message': 'x' * 8000}] * 700})
    assert len(big) > 5_000_000
    response = await post(api, '/api/v1/events/batch', big)
    assert response.status_code == 413
    assert count_events(api) == 0


@pytest.mark.parametrize(
    ('key', 'status', 'code'),
    [
        (None, 401, 'unauthorized'),
        ('pk_unknown_key_0000000000000000', 401, 'unauthorized'),
        ('sk_wrong_prefix', 401, 'unauthorized'),
    ],
)
async def test_missing_or_unknown_key_is_refused(api, key, status, code):
    headers = {'Content-Type': 'application/json'} | ({'X-PulseKit-Key': key} if key else {})
    response = await api.client.post('/api/v1/events', content=b'{}', headers=headers)
    assert response.status_code == status
    assert response.json()['error']['code'] == code
    assert count_events(api) == 0


async def test_key_without_ingest_permission_gets_403(api):
    response = await post(api, '/api/v1/events', {'message': 'x'}, key=api.read_key)
    assert response.status_code == 403
    assert response.json()['error']['code'] == 'forbidden'


async def test_revoked_key_is_refused_on_the_next_request(api):
    from pulsekit.models import ApiKey
    from pulsekit.projects import hash_key, revoke_key

    assert (await post(api, '/api/v1/events', {'message': 'before'})).status_code == 202
    with api.services.db.connection_context():
        revoke_key(ApiKey.get(ApiKey.key_hash == hash_key(api.ingest_key)).id)
    response = await post(api, '/api/v1/events', {'message': 'after'})
    assert response.status_code == 401
    assert count_events(api) == 1


async def test_unknown_api_path_answers_json_404_and_wrong_method_405(api):
    response = await api.client.get('/api/v2/nothing')
    assert response.status_code == 404 and response.json()['error']['code'] == 'not_found'
    response = await api.client.put('/api/v1/events/batch')
    assert response.status_code == 405 and response.json()['error']['code'] == 'method_not_allowed'


async def test_health_reports_database_writer_and_version(api):
    response = await api.client.get('/api/v1/health')
    assert response.status_code == 200
    body = response.json()
    assert body['status'] == 'ok' and body['database'] == 'ok' and body['writer_queue_depth'] == 0
    assert body['version']


@pytest.mark.sqlite_only  # PostgreSQL's search index is written with each event
async def test_health_reports_the_events_waiting_for_the_search_index(api):
    posted_at = time.monotonic()
    for n in range(3):
        assert (await post(api, '/api/v1/events', {'message': f'late index {n}'})).status_code == 202
    lag = (await api.client.get('/api/v1/health')).json()['search_index_lag_events']
    if time.monotonic() - posted_at < INDEX_DELAY_S:  # else the writer may have indexed them already
        assert lag == 3
    deadline = time.monotonic() + 10
    while lag and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        lag = (await api.client.get('/api/v1/health')).json()['search_index_lag_events']
    assert lag == 0


async def test_ingest_sets_no_cookie(api):
    response = await post(api, '/api/v1/events', {'message': 'x'})
    assert 'set-cookie' not in response.headers


async def test_rate_limited_key_gets_429_with_retry_after(settings):
    limited = replace(settings, rate_limit_events_per_s=1.0, rate_limit_burst_events=5)
    async for api in start_api(limited):
        assert (await post(api, '/api/v1/events/batch', {'events': [{}] * 5})).status_code == 202
        response = await post(api, '/api/v1/events', {'message': 'one too many'})
        assert response.status_code == 429
        assert int(response.headers['Retry-After']) >= 1
        assert response.json()['error']['code'] == 'rate_limited'
        assert count_events(api) == 5


async def test_full_writer_queue_answers_503_and_loses_nothing_it_acknowledged(settings):
    """While the writer is held up (say, by a slow disk), the queue fills: the overflow gets 503."""
    small = replace(settings, writer_queue_max_events=3)
    async for api in start_api(small):
        messages = [f'm{i}' for i in range(8)]
        with writer_held(api.services.writer):
            tasks = [asyncio.create_task(post(api, '/api/v1/events', {'message': m})) for m in messages]
            await asyncio.sleep(0.5)
            early = [t.result() for t in tasks if t.done()]
            assert early and all(r.status_code == 503 for r in early), 'only refusals can answer while it is held'
            assert all(r.headers['Retry-After'] == '1' for r in early)
            assert all(r.json()['error']['code'] == 'overloaded' for r in early)
        responses = await asyncio.gather(*tasks)
        accepted = {m for m, r in zip(messages, responses, strict=True) if r.status_code == 202}
        assert accepted and len(accepted) + len(early) == 8
        assert {e.message for e in stored_events(api)} == accepted


async def test_last_used_at_is_recorded_in_batches_not_per_request(api):
    from pulsekit.models import ApiKey
    from pulsekit.projects import hash_key

    def last_used():
        with api.services.db.connection_context():
            return ApiKey.get(ApiKey.key_hash == hash_key(api.ingest_key)).last_used_at

    for _ in range(3):
        assert (await post(api, '/api/v1/events', {'message': 'x'})).status_code == 202
    assert last_used() is None  # no write on the request path
    api.services.flush_key_use()
    api.services.writer.run_task(lambda: None).result(5)  # the flush runs on the writer thread
    assert last_used() is not None


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ('encoding', 'compress'),
    [
        ('deflate', zlib.compress),  # zlib-wrapped (RFC 1950)
        ('deflate', lambda data: raw_deflate(data)),  # raw (RFC 1951)
        ('gzip', lambda data: gzip.compress(data[:20]) + gzip.compress(data[20:])),  # two gzip members
    ],
    ids=['deflate-zlib', 'deflate-raw', 'gzip-two-members'],
)
async def test_every_flavour_of_compressed_body_is_read_whole(api, encoding, compress):
    body = orjson.dumps({'events': [{'message': f'm{i}'} for i in range(5)]})
    response = await post(api, '/api/v1/events/batch', compress(body), **{'Content-Encoding': encoding})
    assert response.status_code == 202, response.text
    assert count_events(api) == 5
