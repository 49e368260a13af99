"""Sentry refuses nothing for its values, so neither do we: lone surrogates become U+FFFD, unusable
timestamps the received time, and no out-of-range value anywhere in a Sentry request gets a 5xx."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from .test_http import auth, envelope, post, sentry_event

BIG = 2**70


def raw_envelope(event_json: str, **headers) -> bytes:
    """An envelope whose event payload is given as JSON text (as a Python SDK writes it: json.dumps)."""
    payload = event_json.encode()
    return envelope(('event', payload), **headers)


def stored(server, event_id: str) -> dict | None:
    response = httpx.get(
        f'{server.url}/api/v1/events/{uuid.UUID(event_id)}', headers={'X-PulseKit-Key': server.key}, timeout=10
    )
    return response.json() if response.status_code == 200 else None


def test_lone_surrogates_are_replaced_and_requests_beside_them_are_stored(live_server):
    other_project, other_key = live_server.create_project('Neighbour')
    poisoned, good = [], []
    for i in range(12):
        event_id = uuid.uuid4().hex
        # json.dumps writes "\ud800" for a lone surrogate, as a Python SDK would.
        event = sentry_event(event_id=event_id, message=f'bad \ud800 {i}', tags={'k\udc00': 'v\ud800'})
        event['exception']['values'][0]['stacktrace']['frames'][0]['function'] = 'f\udbff'
        event['extra'] = {'note\ud800': ['\udfff']}
        poisoned.append((event_id, raw_envelope(json.dumps(event), event_id=event_id)))
    for _ in range(24):
        event = sentry_event()
        good.append((event['event_id'], raw_envelope(json.dumps(event), event_id=event['event_id'])))

    def send(args):
        project, key, body = args
        return post(live_server, f'/api/{project}/envelope/', body, auth(key)).status_code

    jobs = [(live_server.project_id, live_server.key, body) for _, body in poisoned]
    jobs += [(other_project, other_key, body) for _, body in good]
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(send, jobs))
    assert statuses == [200] * len(jobs)
    event = stored(live_server, poisoned[0][0])
    assert event['message'] == 'bad \ufffd 0'
    assert event['tags'] == {'k_': 'v\ufffd'}  # tag keys keep the native charset
    assert event['stacktrace']['frames'][0]['function'] == 'f\ufffd'
    assert event['metadata']['extra'] == {'note\ufffd': ['\ufffd']}
    stored_good = {e['id'].replace('-', '') for e in live_server.events(other_key, limit=100)}
    assert {event_id for event_id, _ in good} <= stored_good


@pytest.mark.parametrize(
    'timestamp',
    ['0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-05:00', '1969-12-31T23:59:59Z', 'yesterday', -1, BIG, 0],
)
def test_an_unusable_timestamp_becomes_the_received_time(live_server, timestamp):
    event = sentry_event(timestamp=timestamp)
    before = datetime.now(UTC)
    path = f'/api/{live_server.project_id}/store/'
    response = post(live_server, path, json.dumps(event).encode(), auth(live_server.key))
    assert response.status_code == 200, response.text
    kept = datetime.fromisoformat(stored(live_server, event['event_id'])['timestamp'].replace('Z', '+00:00'))
    assert abs((kept - before).total_seconds()) < 60


def out_of_range_requests(project_id: int) -> list[tuple[str, str, bytes]]:
    """(name, path, body) for every Sentry route, each with out-of-range values somewhere."""
    frame_values = {'lineno': BIG, 'colno': -1, 'in_app': BIG, 'pre_context': [BIG], 'function': BIG}
    event = sentry_event(
        level=BIG, timestamp=BIG, tags={'n': BIG, 'f': 1e308}, user={'id': BIG}, fingerprint=[BIG, -BIG]
    )
    event['exception']['values'][0]['stacktrace']['frames'][0].update(frame_values)
    event['extra'] = {'big': BIG, 'neg': -BIG, 'deep': [[[[[[[[[[[[BIG]]]]]]]]]]]]}
    event_text = json.dumps(event)
    variants = {
        'big numbers everywhere': event_text,
        'infinite timestamp': json.dumps(sentry_event(timestamp=float('inf')), allow_nan=True),
        'nan timestamp': json.dumps(sentry_event(timestamp=float('nan')), allow_nan=True),
        'huge exponent': json.dumps(sentry_event()).replace('"level": "error"', '"level": 1e999'),
        'event id not an id': json.dumps(sentry_event(event_id='x' * 40)),
        'offset timestamp': json.dumps(sentry_event(timestamp='0001-01-01T00:00:00+14:00')),
        'deep nesting': '{"extra":' + '[' * 5000 + ']' * 5000 + '}',
    }
    requests = []
    for name, text in variants.items():
        for route in ('envelope/', 'envelope', 'store/', 'store'):
            body = raw_envelope(text, event_id='z' * 32) if route.startswith('envelope') else text.encode()
            requests.append((f'{name} to {route}', f'/api/{project_id}/{route}', body))
    item_too_long = b'{}\n' + json.dumps({'type': 'event', 'length': BIG}).encode() + b'\n{}'
    requests.append(('item length beyond 64 bits', f'/api/{project_id}/envelope/', item_too_long))
    header_numbers = json.dumps({'event_id': BIG, 'sent_at': BIG, 'dsn': BIG}).encode() + b'\n'
    requests.append(('envelope header numbers', f'/api/{project_id}/envelope/', header_numbers))
    for project in ('99999999999999999999', '0', str(2**63), '00001'):
        for route in ('envelope/', 'store/'):
            requests.append((f'project {project} {route}', f'/api/{project}/{route}', json.dumps(event).encode()))
    return requests


def test_no_out_of_range_value_in_a_sentry_request_gets_a_5xx(live_server):
    failures = []
    for name, path, body in out_of_range_requests(live_server.project_id):
        for headers, query in ((auth(live_server.key), ''), ({}, f'?sentry_key={live_server.key}'), ({}, '')):
            response = post(live_server, path + query, body, headers)
            if response.status_code >= 500:
                failures.append((name, query, response.status_code, response.text[:200]))
    assert not failures
    assert 'Traceback' not in live_server.log()
