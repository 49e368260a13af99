"""Inputs an attacker (or a buggy client) sends: out-of-range values, ids past 64 bits, text that
cannot be stored. None of them may cause a 5xx, and none may hurt another client's request."""

import asyncio
import json
import re
from datetime import UTC, datetime

import orjson
import pytest

from pulsekit.api import alerts, events, health, manage, read
from pulsekit.events.ingest import prepare_event
from pulsekit.instance_settings import set_setting
from pulsekit.models import AlertRule, Event
from pulsekit.projects import create_key, create_project

HUGE_IDS = ['99999999999999999999', '9223372036854775808', '1' + '0' * 5000, '²', '١', '-1', '1e400', '0x10', '%20']
OUT_OF_RANGE_TIMES = ['0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00', '-1', '1e400', 'nan', '99999999999999']
QUERY_VALUES = [*HUGE_IDS, *OUT_OF_RANGE_TIMES, '\ud800'.encode('utf-8', 'surrogatepass').decode('latin-1'), '']
QUERY_NAMES = ['project', 'issue', 'limit', 'cursor', 'since', 'until', 'level', 'status', 'sort', 'tag', 'q']
HOSTILE_BODIES = [
    b'{"name": "x\\ud800", "project": "1"}',
    b'{"name": "p", "retention_days": 9223372036854775808}',
    b'{"name": "p", "retention_days": 99999999999999999999}',
    b'{"project": 99999999999999999999, "name": "r", "rule_type": "threshold", "config": {"threshold": 1e400}}',
    b'{"project": "1", "name": "r", "rule_type": "threshold", "config": {"threshold": "99999999999999999999999",'
    b' "window_s": "' + b'9' * 5000 + b'"}, "cooldown_s": 99999999999999999999, "webhook_url": "http://127.0.0.1:9/"}',
    b'{"permissions": ["ingest"], "name": "\\udc00"}',
    b'{"message": "m", "timestamp": "0001-01-01T00:00:00+14:00"}',
    b'{"events": [{"message": "m", "timestamp": "9999-12-31T23:59:59-14:00"}]}',
    b'{"events": [{"message": "m", "timestamp": 1e400}]}',
]


def _native_routes() -> list[tuple[str, str]]:
    """(method, path) of every native, batch, read and management route."""
    found = []
    for route in [*events.routes, *health.router.routes, *read.router.routes, *manage.router.routes,
                  *alerts.router.routes]:  # fmt: skip
        for method in sorted(route.methods - {'HEAD'}):
            found.append((method, route.path))
    return found


def _fill(path: str, value: str) -> str:
    return re.sub(r'\{[^}]+\}', value, path)


async def test_every_native_route_answers_hostile_values_without_a_5xx(api):
    with api.services.db.connection_context():
        set_setting('allow_private_webhook_targets', True)
    routes = _native_routes()
    assert len(routes) >= 20, routes  # the walk covers the API, not an empty list
    failures = []

    async def call(method: str, path: str, params=None, body: bytes | None = None) -> None:
        response = await api.client.request(
            method, path, params=params, content=body, headers=api.headers(api.admin_key)
        )
        if response.status_code >= 500:
            failures.append((method, path, params, body[:80] if body else None, response.status_code))

    # DELETEs last: they may revoke a key or delete a rule the other requests look at.
    for method, route in sorted(routes, key=lambda r: r[0] == 'DELETE'):
        for value in HUGE_IDS if '{' in route else []:
            await call(method, _fill(route, value))
        path = _fill(route, '1')
        for name in QUERY_NAMES:
            for value in QUERY_VALUES:
                if method == 'GET':
                    await call(method, path, params={name: value})
        if method in ('POST', 'PATCH'):
            for body in HOSTILE_BODIES:
                await call(method, path, body=body)
    assert not failures, failures


@pytest.mark.parametrize(
    ('method', 'path', 'status'),
    [
        ('GET', '/api/v1/issues/99999999999999999999', 404),
        ('GET', '/api/v1/issues/²', 404),
        ('GET', '/api/v1/events?project=99999999999999999999', 404),
        ('GET', '/api/v1/issues?project=99999999999999999999', 404),
        ('GET', '/api/v1/events?issue=99999999999999999999', 422),
        ('GET', '/api/v1/events?since=0001-01-01T00:00:00%2B14:00', 422),
        ('GET', '/api/v1/events?until=9999-12-31T23:59:59-14:00', 422),
        ('GET', '/api/v1/events?since=-1', 422),
        ('GET', '/api/v1/events?since=last+week', 400),
        ('GET', '/api/v1/events?limit=99999999999999999999', 200),
        ('GET', '/api/v1/projects/99999999999999999999', 404),
        ('GET', '/api/v1/projects/99999999999999999999/keys', 404),
        ('DELETE', '/api/v1/keys/99999999999999999999', 404),
        ('GET', '/api/v1/alert-rules/99999999999999999999', 404),
        ('GET', '/api/v1/alert-rules?project=99999999999999999999', 404),
        ('GET', '/api/v1/alert-rules/99999999999999999999/firings', 404),
    ],
)
async def test_ids_past_64_bits_and_times_out_of_range_get_a_client_error(api, method, path, status):
    response = await api.client.request(method, path, headers=api.headers(api.admin_key))
    assert response.status_code == status, response.text
    if status != 200:
        assert response.json()['error']['code'] in ('not_found', 'invalid_field', 'invalid_request')


@pytest.mark.parametrize('timestamp', ['0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00', -1, 1e300])
async def test_event_timestamps_out_of_range_answer_422_on_both_endpoints(api, timestamp):
    one = await api.client.post('/api/v1/events', content=orjson.dumps({'message': 'm', 'timestamp': timestamp}),
                                headers=api.headers())  # fmt: skip
    assert one.status_code == 422 and one.json()['error']['field'] == 'timestamp'
    batch = {'events': [{'message': 'ok'}, {'message': 'm', 'timestamp': timestamp}]}
    many = await api.client.post('/api/v1/events/batch', content=orjson.dumps(batch), headers=api.headers())
    assert many.status_code == 422 and many.json()['error']['field'] == 'events[1].timestamp'


@pytest.mark.parametrize(
    ('body', 'field'),
    [
        ('{"message": "a\\ud800b"}', 'message'),
        ('{"message": "\\udc00"}', 'message'),
        ('{"tags": {"region": "eu\\ud83d"}}', 'tags.region'),
        ('{"tags": {"\\ud800": "x"}}', 'tags.\\ud800'),
        ('{"metadata": {"cart": {"items": ["ok", "\\udfff"]}}}', 'metadata.cart.items[1]'),
        ('{"exception": {"type": "E", "value": "\\ud800"}}', 'exception.value'),
        ('{"stacktrace": {"frames": [{"function": "f"}, {"function": "\\ud800"}]}}', 'stacktrace.frames[1].function'),
        ('{"user": {"email": "\\ud800@x"}}', 'user.email'),
    ],
)
async def test_a_lone_surrogate_in_a_native_event_is_refused_with_its_field(api, body, field):
    response = await api.client.post('/api/v1/events', content=body.encode(), headers=api.headers())
    assert response.status_code == 422, response.text
    assert response.json()['error']['field'] == field
    batch = f'{{"events": [{{"message": "fine"}}, {body}]}}'.encode()
    response = await api.client.post('/api/v1/events/batch', content=batch, headers=api.headers())
    assert response.status_code == 422 and response.json()['error']['field'] == f'events[1].{field}'
    with api.services.db.connection_context():
        assert Event.select().count() == 0


async def test_nul_characters_in_events_are_stored_as_u_fffd_on_both_databases(api):
    """PostgreSQL stores no NUL (U+0000) in text or jsonb; events keep their text, with U+FFFD in its place."""
    nul = {
        'message': 'a\u0000b',
        'metadata': {'k': 'v\u0000', 'k\u0000': 1},
        'exception': {'type': 'E\u0000', 'value': 'x'},
    }
    literal = {'message': 'a\\u0000b'}  # a backslash, then "u0000": text, not a NUL
    one = await api.client.post('/api/v1/events', content=orjson.dumps(nul), headers=api.headers())
    batch = {'events': [nul, literal]}
    many = await api.client.post('/api/v1/events/batch', content=orjson.dumps(batch), headers=api.headers())
    assert one.status_code == many.status_code == 202, (one.text, many.text)
    read = api.headers(api.read_key)
    stored = [
        (await api.client.get(f'/api/v1/events/{i}', headers=read)).json()
        for i in [one.json()['id'], *many.json()['ids']]
    ]
    for event in stored[:2]:
        assert event['message'] == 'a\ufffdb' and event['metadata'] == {'k': 'v\ufffd', 'k\ufffd': 1}
        assert event['exception']['type'] == 'E\ufffd'
    assert stored[2]['message'] == 'a\\u0000b'


async def test_nul_in_a_name_or_a_url_is_a_client_error_not_a_500(api):
    admin = api.headers(api.admin_key)
    response = await api.client.post('/api/v1/projects', content=b'{"name": "Sh\\u0000op"}', headers=admin)
    assert response.status_code == 422 and 'NUL' in response.json()['error']['message']
    for path in ('/api/v1/issues?project=a%00b', '/api/v1/events?q=x%00', '/api/v1/projects/sh%00op'):
        response = await api.client.get(path, headers=admin)
        assert response.status_code == 400, (path, response.text)
        assert response.json()['error']['code'] == 'invalid_request'
    with api.services.db.connection_context():
        from pulsekit.models import Project

        assert Project.select().count() == 1


async def _hold_writer(api, jobs: int):
    """Block the writer until `jobs` more jobs are queued, so that they share one group commit."""
    gate = asyncio.Event()
    loop = asyncio.get_running_loop()
    api.services.writer.run_task(lambda: asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(10))
    await asyncio.sleep(0.05)

    async def release() -> None:
        for _ in range(500):
            if api.services.writer.queue_depth >= jobs:
                break
            await asyncio.sleep(0.01)
        gate.set()

    return release


async def test_poisoned_requests_fail_alone_beside_good_ones_of_another_project(api):
    with api.services.db.connection_context():
        other = create_project('Other')
        _, other_key = create_key(other, 'k', ['ingest'])
    sentry_auth = {'X-Sentry-Auth': f'Sentry sentry_key={other_key}, sentry_version=7'}
    poison_text = '\ud800'
    poisoned = []
    for i in range(4):
        poisoned.append(('native', '/api/v1/events', f'{{"message": "bad {i}", "tags": {{"t": "\\ud800"}}}}'.encode()))
        batch = f'{{"events": [{{"message": "ok"}}, {{"metadata": {{"k": "\\udc00{i}"}}}}]}}'.encode()
        poisoned.append(('native', '/api/v1/events/batch', batch))
        sentry = json.dumps({'message': f'bad {poison_text} {i}', 'tags': {'t': poison_text}}).encode()
        poisoned.append(('sentry', f'/api/{other.id}/store/', sentry))
    good = [orjson.dumps({'message': f'good {i}', 'tags': {'n': str(i)}}) for i in range(40)]

    release = await _hold_writer(api, len(good) // 2)

    async def send_poison(kind, path, body):
        headers = sentry_auth if kind == 'sentry' else api.headers(other_key)
        return kind, await api.client.post(path, content=body, headers=headers)

    async def send_good(body):
        return await api.client.post('/api/v1/events', content=body, headers=api.headers())

    results = await asyncio.gather(release(), *[send_good(b) for b in good], *[send_poison(*p) for p in poisoned])
    good_responses = results[1 : 1 + len(good)]
    assert [r.status_code for r in good_responses] == [202] * len(good)
    for kind, response in results[1 + len(good) :]:
        # Native: refused with the field. Sentry: replaced with U+FFFD (200) or refused, never a 5xx.
        assert response.status_code in ((422,) if kind == 'native' else (200, 400, 422)), response.text
    with api.services.db.connection_context():
        stored = {e.message for e in Event.select().where(Event.project == api.project_id)}
    assert stored == {f'good {i}' for i in range(40)}


async def test_an_event_id_of_another_project_is_refused_with_409_never_acknowledged(api):
    with api.services.db.connection_context():
        other = create_project('Other')
        _, other_key = create_key(other, 'k', ['ingest', 'read'])
    event_id = '5b0f2a4e-7d0c-4d55-9a8f-5d1c2b3a4e5f'
    first = await api.client.post('/api/v1/events', json={'id': event_id, 'message': 'A'}, headers=api.headers())
    assert first.status_code == 202
    again = await api.client.post('/api/v1/events', json={'id': event_id, 'message': 'A'}, headers=api.headers())
    assert again.status_code == 202  # the same project's retry stays idempotent

    taken = await api.client.post(
        '/api/v1/events', json={'id': event_id, 'message': 'B'}, headers=api.headers(other_key)
    )
    assert taken.status_code == 409 and taken.json()['error']['field'] == 'id'
    batch = {'events': [{'message': 'B fine'}, {'id': event_id, 'message': 'B'}]}
    taken = await api.client.post('/api/v1/events/batch', json=batch, headers=api.headers(other_key))
    assert taken.status_code == 409 and taken.json()['error']['field'] == 'events[1].id'
    with api.services.db.connection_context():
        assert [e.message for e in Event.select().where(Event.project == other.id)] == []  # all-or-nothing


async def test_one_id_sent_by_two_projects_in_one_commit_is_stored_once_and_refused_once(api):
    with api.services.db.connection_context():
        other = create_project('Other')
        _, other_key = create_key(other, 'k', ['ingest'])
    event_id = '0b0f2a4e-7d0c-4d55-9a8f-5d1c2b3a4e5f'
    release = await _hold_writer(api, 2)
    _, mine, theirs = await asyncio.gather(
        release(),
        api.client.post('/api/v1/events', json={'id': event_id, 'message': 'A'}, headers=api.headers()),
        api.client.post('/api/v1/events', json={'id': event_id, 'message': 'B'}, headers=api.headers(other_key)),
    )
    assert sorted([mine.status_code, theirs.status_code]) == [202, 409]
    winner = api.project_id if mine.status_code == 202 else other.id
    with api.services.db.connection_context():
        [row] = Event.select()
        assert row.project_id == winner and AlertRule.select().count() == 0


@pytest.mark.parametrize(
    ('path', 'text'),
    [
        ('/issues/99999999999999999999', 'Issue not found'),
        ('/projects/99999999999999999999', 'No such project'),
        ('/events?issue=99999999999999999999&project=99999999999999999999', 'Events'),
        ('/events?range=custom&start=9999-12-31&end=9999-12-30', 'Events'),
        ('/alerts?rule=99999999999999999999', 'Alerts'),
    ],
)
async def test_dashboard_urls_with_ids_past_64_bits_or_far_dates_show_a_page(admin, path, text):
    await admin.open(path)  # asserts a 200 page
    await admin.should_see(text)


async def test_the_writer_fails_only_the_job_it_cannot_store_whatever_let_it_through(api):
    """Decoding refuses such text, but the writer must not rely on it: any unstorable job fails alone."""
    with api.services.db.connection_context():
        other = create_project('Other')
    now = datetime.now(UTC)
    good = [prepare_event({'message': f'good {i}', 'tags': {'n': str(i)}}, now) for i in range(20)]
    bad = {
        'tags.t': prepare_event({'message': 'x', 'tags': {'t': '\ud800'}}, now),  # a JSON column: orjson refuses
        'message': prepare_event({'message': '\udc00'}, now),  # a text column: SQLite's driver refuses
        'metadata.a[0]': prepare_event({'metadata': {'a': ['ok']}}, now),
    }
    bad['metadata.a[0]']['metadata']['a'][0] = '\udfff'  # past decoding, as a future bug might let it
    writer = api.services.writer
    release = await _hold_writer(api, len(good) + len(bad))
    results = await asyncio.gather(
        release(),
        *(writer.write(api.project_id, [event]) for event in good),
        *(writer.write(other.id, [event]) for event in bad.values()),
        return_exceptions=True,
    )
    assert all(isinstance(r, list) for r in results[1 : 1 + len(good)]), results
    refused = results[1 + len(good) :]
    assert [(type(r).__name__, r.field) for r in refused] == [('InvalidField', field) for field in bad]
    with api.services.db.connection_context():
        assert Event.select().where(Event.project == api.project_id).count() == len(good)
        assert Event.select().where(Event.project == other.id).count() == 0
