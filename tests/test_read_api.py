"""The read API: filters, full-text search, cursor pagination and what each key may see."""

import uuid

import orjson
import pytest

from pulsekit.projects import create_key, create_project


async def send(api, events):
    response = await api.client.post(
        '/api/v1/events/batch', content=orjson.dumps({'events': events}), headers=api.headers()
    )
    assert response.status_code == 202, response.text
    return response.json()['ids']


async def get(api, path, key=None, **params):
    return await api.client.get(path, params=params, headers={'X-PulseKit-Key': key or api.read_key})


SAMPLE = [
    {'message': 'checkout failed for cart', 'level': 'error', 'environment': 'production', 'tags': {'region': 'eu'},
     'exception': {'type': 'PaymentDeclined', 'value': 'card expired'}, 'timestamp': '2026-11-20T10:00:00Z'},
    {'message': 'slow query on orders', 'level': 'warning', 'environment': 'production', 'tags': {'region': 'us'},
     'timestamp': '2026-11-21T10:00:00Z'},
    {'type': 'payment.success', 'message': 'order paid', 'level': 'info', 'environment': 'staging',
     'release': 'shop@2.0', 'tags': {'region': 'eu', 'provider': 'stripe'}, 'timestamp': '2026-11-22T10:00:00Z'},
    {'message': 'database unreachable', 'level': 'fatal', 'environment': 'production', 'release': 'shop@2.0',
     'timestamp': '2026-11-23T10:00:00Z'},
]  # fmt: skip

FILTERS = [
    ({}, ['database unreachable', 'order paid', 'slow query on orders', 'checkout failed for cart']),
    ({'level': 'error,fatal'}, ['database unreachable', 'checkout failed for cart']),
    ({'type': 'payment.success'}, ['order paid']),
    ({'environment': 'staging'}, ['order paid']),
    ({'release': 'shop@2.0'}, ['database unreachable', 'order paid']),
    ({'tag': 'region:eu'}, ['order paid', 'checkout failed for cart']),
    ({'since': '2026-11-21T10:00:00Z', 'until': '2026-11-23T10:00:00Z'}, ['order paid', 'slow query on orders']),
    ({'q': 'orders'}, ['slow query on orders']),
    ({'q': 'expired'}, ['checkout failed for cart']),  # exception value is searched too
    ({'q': 'PaymentDecl*'}, ['checkout failed for cart']),
    ({'q': 'order AND "paid" OR NEAR('}, ['order paid']),  # FTS syntax in user input is inert
    ({'q': 'nothing-matches'}, []),
]


@pytest.mark.parametrize(('params', 'expected'), FILTERS)
async def test_event_filters(api, params, expected):
    await send(api, SAMPLE)
    response = await get(api, '/api/v1/events', **params)
    assert response.status_code == 200, response.text
    assert [e['message'] for e in response.json()['events']] == expected


async def test_cursor_pages_through_every_event_once_newest_first(api):
    ids = await send(api, [{'message': f'm{i}', 'timestamp': 1790000000 + i} for i in range(25)])
    seen, cursor = [], None
    for _ in range(10):
        params = {'limit': 10} | ({'cursor': cursor} if cursor else {})
        body = (await get(api, '/api/v1/events', **params)).json()
        seen += [e['id'] for e in body['events']]
        cursor = body['next_cursor']
        if not cursor:
            break
    assert seen == list(reversed(ids))


async def test_listed_events_carry_every_field_as_the_single_event_does(api):
    # The list answers with the JSON columns as stored (not decoded and encoded again): same content.
    full = {
        'message': 'checkout failed', 'level': 'error', 'tags': {'region': 'eu'}, 'user': {'id': 'u-1'},
        'exception': {'type': 'PaymentDeclined', 'value': 'card expired'}, 'fingerprint': ['payments', 'declined'],
        'stacktrace': {'frames': [{'filename': 'app.py', 'function': 'pay', 'lineno': 12}]},
        'metadata': {'cart': {'items': 3, 'total': 19.5}, 'note': 'naïve ✓'},
    }  # fmt: skip
    ids = await send(api, [full, {'message': 'bare'}])
    listed = {e['id']: e for e in (await get(api, '/api/v1/events', q='checkout')).json()['events']}
    listed |= {e['id']: e for e in (await get(api, '/api/v1/events')).json()['events']}
    for event_id in ids:
        assert listed[event_id] == (await get(api, f'/api/v1/events/{event_id}')).json()
    assert listed[ids[0]]['metadata'] == full['metadata'] and listed[ids[0]]['stacktrace']['frames'][0]['lineno'] == 12
    assert listed[ids[1]]['tags'] == {} and listed[ids[1]]['user'] is None


async def test_stored_event_carries_project_issue_and_normalised_fields(api):
    [event_id] = await send(api, [SAMPLE[0]])
    event = (await get(api, f'/api/v1/events/{event_id}')).json()
    assert event['project_id'] == api.project_id and event['issue_id'] is not None
    assert event['timestamp'] == '2026-11-20T10:00:00.000Z'
    issue = (await get(api, f'/api/v1/issues/{event["issue_id"]}')).json()
    assert issue['title'] == 'PaymentDeclined: card expired'
    assert issue['event_count'] == 1 and issue['status'] == 'open'


async def test_issue_list_sorts_and_counts(api):
    await send(api, [{'level': 'error', 'message': 'a'}] * 3 + [{'level': 'error', 'message': 'b'}])
    issues = (await get(api, '/api/v1/issues', sort='event_count')).json()['issues']
    assert [(i['title'], i['event_count']) for i in issues] == [('a', 3), ('b', 1)]


@pytest.mark.parametrize(
    ('path', 'params', 'status', 'code'),
    [
        ('/api/v1/events', {'cursor': 'garbage!'}, 400, 'invalid_request'),
        ('/api/v1/events', {'since': 'last week'}, 400, 'invalid_request'),
        ('/api/v1/events', {'level': 'loud'}, 400, 'invalid_request'),
        ('/api/v1/events', {'tag': 'no-colon'}, 400, 'invalid_request'),
        ('/api/v1/events', {'limit': 'ten'}, 400, 'invalid_request'),
        ('/api/v1/issues', {'sort': 'random'}, 400, 'invalid_request'),
        (f'/api/v1/events/{uuid.uuid4()}', {}, 404, 'not_found'),
        ('/api/v1/events/not-a-uuid', {}, 404, 'not_found'),
        ('/api/v1/issues/999', {}, 404, 'not_found'),
    ],
)
async def test_bad_read_requests_get_json_errors(api, path, params, status, code):
    response = await get(api, path, **params)
    assert response.status_code == status
    assert response.json()['error']['code'] == code


async def test_ingest_only_key_cannot_read(api):
    response = await get(api, '/api/v1/events', key=api.ingest_key)
    assert response.status_code == 403


async def test_read_key_sees_only_its_project_and_admin_sees_all(api):
    await send(api, [{'message': 'mine'}])
    with api.services.db.connection_context():
        other = create_project('Other')
        _, other_ingest = create_key(other, 'ingest', ['ingest'])
    response = await api.client.post(
        '/api/v1/events', content=b'{"message": "theirs"}', headers=api.headers(other_ingest)
    )
    theirs = response.json()['id']
    assert [e['message'] for e in (await get(api, '/api/v1/events')).json()['events']] == ['mine']
    assert (await get(api, f'/api/v1/events/{theirs}')).status_code == 404
    assert (await get(api, '/api/v1/events', project=str(other.id))).status_code == 404
    everything = (await get(api, '/api/v1/events', key=api.admin_key)).json()['events']
    assert {e['message'] for e in everything} == {'mine', 'theirs'}
    only_other = (await get(api, '/api/v1/events', key=api.admin_key, project=other.slug)).json()['events']
    assert [e['message'] for e in only_other] == ['theirs']
