"""Management API through the front door: the production app over HTTP (ASGI), a real SQLite file."""

import orjson
import pytest

from pulsekit.models import AlertRule, ApiKey, Event, Issue, Project, now_utc

BASE = 'http://127.0.0.1:4000'  # the test settings' public URL


async def call(api, method: str, path: str, body=None, key: str | None = None, **headers):
    content = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
    return await api.client.request(method, path, content=content, headers=api.headers(key or api.admin_key, **headers))


def error_of(response) -> tuple[int, str, str | None]:
    err = response.json()['error']
    return response.status_code, err['code'], err['field']


async def test_projects_are_listed_with_activity_and_retention(api):
    await call(api, 'POST', '/api/v1/events', {'message': 'hello'}, key=api.ingest_key)
    response = await call(api, 'GET', '/api/v1/projects')
    assert response.status_code == 200
    [shop] = response.json()['projects']
    assert shop['id'] == api.project_id and shop['slug'] == 'shop' and shop['name'] == 'Shop'
    assert shop['events_24h'] == 1 and shop['last_event_at'] is not None
    assert shop['retention_days'] is None and shop['effective_retention_days'] == 30


async def test_create_project_gives_a_unique_slug(api):
    first = await call(api, 'POST', '/api/v1/projects', {'name': 'Web Shop', 'retention_days': 7})
    second = await call(api, 'POST', '/api/v1/projects', {'name': 'web  shop'})
    assert first.status_code == second.status_code == 201
    assert (first.json()['slug'], first.json()['retention_days']) == ('web-shop', 7)
    assert second.json()['slug'] == 'web-shop-2' and second.json()['name'] == 'web shop'
    assert second.json()['events_24h'] == 0 and second.json()['last_event_at'] is None


async def test_get_project_by_id_or_slug(api):
    by_id = await call(api, 'GET', f'/api/v1/projects/{api.project_id}')
    by_slug = await call(api, 'GET', '/api/v1/projects/shop')
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()


async def test_patch_renames_and_sets_retention_keeping_the_slug(api):
    response = await call(api, 'PATCH', '/api/v1/projects/shop', {'name': 'Store', 'retention_days': 14})
    assert response.status_code == 200
    body = response.json()
    assert (body['name'], body['slug'], body['retention_days'], body['effective_retention_days']) == (
        'Store', 'shop', 14, 14,
    )  # fmt: skip
    back = await call(api, 'PATCH', '/api/v1/projects/shop', {'retention_days': None})
    assert back.json()['retention_days'] is None and back.json()['effective_retention_days'] == 30


async def test_delete_project_removes_everything_and_says_how_much(api):
    other = (await call(api, 'POST', '/api/v1/projects', {'name': 'Doomed'})).json()
    key = (await call(api, 'POST', f'/api/v1/projects/{other["id"]}/keys', {'permissions': ['ingest']})).json()
    batch = {'events': [{'level': 'error', 'message': word} for word in ('boom', 'bang', 'crash')]}
    assert (await call(api, 'POST', '/api/v1/events/batch', batch, key=key['key'])).status_code == 202
    with api.services.db.connection_context():
        AlertRule.create(
            project=other['id'], name='r', condition_type='new_error', condition_config={},
            webhook_url='http://127.0.0.1:9/x', webhook_secret='s', inserted_at=now_utc(),
        )  # fmt: skip

    response = await call(api, 'DELETE', f'/api/v1/projects/{other["slug"]}')

    assert response.status_code == 200
    deleted = response.json()['deleted']
    assert deleted == {
        'project': {'id': other['id'], 'slug': 'doomed'}, 'events': 3, 'issues': 3, 'alert_rules': 1, 'keys': 1,
    }  # fmt: skip
    with api.services.db.connection_context():
        assert not Project.select().where(Project.id == other['id']).exists()
        assert Event.select().where(Event.project == other['id']).count() == 0
        assert Issue.select().where(Issue.project == other['id']).count() == 0
    refused = await call(api, 'POST', '/api/v1/events', {'message': 'late'}, key=key['key'])
    assert refused.status_code == 401  # its keys went with it, cache or not


async def test_an_admin_key_cannot_delete_its_own_project(api):
    response = await call(api, 'DELETE', '/api/v1/projects/shop')
    assert error_of(response)[:2] == (409, 'conflict')
    assert (await call(api, 'GET', '/api/v1/projects/shop')).status_code == 200


async def test_create_key_returns_it_once_with_its_dsn(api):
    response = await call(api, 'POST', '/api/v1/projects/shop/keys', {'name': 'CI', 'permissions': ['read', 'ingest']})
    assert response.status_code == 201
    created = response.json()
    assert created['key'].startswith('pk_') and created['prefix'] == created['key'][:10]
    assert created['permissions'] == ['ingest', 'read']
    assert created['dsn'] == f'http://{created["key"]}@127.0.0.1:4000/{api.project_id}'
    listed = (await call(api, 'GET', '/api/v1/projects/shop/keys')).json()['keys']
    again = next(k for k in listed if k['id'] == created['id'])
    assert 'key' not in again
    assert again['dsn'] == f'http://{created["prefix"]}…@127.0.0.1:4000/{api.project_id}'
    assert created['key'] not in orjson.dumps(listed).decode()
    sent = await call(api, 'POST', '/api/v1/events', {'message': 'from CI'}, key=created['key'])
    assert sent.status_code == 202


async def test_key_defaults_to_ingest_only(api):
    created = (await call(api, 'POST', '/api/v1/projects/shop/keys', {})).json()
    assert created['name'] == 'default' and created['permissions'] == ['ingest']


async def test_list_keys_shows_prefixes_permissions_and_revocations(api):
    keys = (await call(api, 'GET', f'/api/v1/projects/{api.project_id}/keys')).json()['keys']
    assert [(k['name'], k['permissions'], k['revoked_at']) for k in keys] == [
        ('ingest', ['ingest'], None), ('reader', ['read'], None), ('admin', ['admin'], None),
    ]  # fmt: skip
    assert all(k['prefix'].startswith('pk_') and 'key' not in k for k in keys)


async def test_revoked_key_is_refused_on_the_very_next_request(api):
    assert (await call(api, 'POST', '/api/v1/events', {'message': 'a'}, key=api.ingest_key)).status_code == 202
    with api.services.db.connection_context():
        key_id = ApiKey.get(ApiKey.name == 'ingest').id
    # the key is cached now (TTL 5 s): the revocation must reach the cache anyway
    response = await call(api, 'DELETE', f'/api/v1/keys/{key_id}')
    assert response.status_code == 200 and response.json()['revoked_at'] is not None
    refused = await call(api, 'POST', '/api/v1/events', {'message': 'b'}, key=api.ingest_key)
    assert error_of(refused)[:2] == (401, 'unauthorized')
    again = await call(api, 'DELETE', f'/api/v1/keys/{key_id}')  # idempotent
    assert again.status_code == 200 and again.json()['revoked_at'] == response.json()['revoked_at']


@pytest.mark.parametrize(
    ('method', 'path'),
    [
        ('GET', '/api/v1/projects'),
        ('POST', '/api/v1/projects'),
        ('GET', '/api/v1/projects/shop'),
        ('PATCH', '/api/v1/projects/shop'),
        ('DELETE', '/api/v1/projects/shop'),
        ('GET', '/api/v1/projects/shop/keys'),
        ('POST', '/api/v1/projects/shop/keys'),
        ('DELETE', '/api/v1/keys/1'),
    ],
)
async def test_every_management_endpoint_needs_an_admin_key(api, method, path):
    body = {'name': 'x'} if method in ('POST', 'PATCH') else None
    assert error_of(await call(api, method, path, body, key=api.read_key))[:2] == (403, 'forbidden')
    assert error_of(await call(api, method, path, body, key=api.ingest_key))[:2] == (403, 'forbidden')
    assert error_of(await call(api, method, path, body, key='pk_unknown'))[:2] == (401, 'unauthorized')
    no_key = await api.client.request(method, path, headers={'Content-Type': 'application/json'})
    assert error_of(no_key)[:2] == (401, 'unauthorized')


@pytest.mark.parametrize(
    ('method', 'path', 'body', 'expected'),
    [
        ('POST', '/api/v1/projects', {}, (422, 'invalid_field', 'name')),
        ('POST', '/api/v1/projects', {'name': '  '}, (422, 'invalid_field', 'name')),
        ('POST', '/api/v1/projects', {'name': 'x' * 101}, (422, 'invalid_field', 'name')),
        ('POST', '/api/v1/projects', {'name': 5}, (422, 'invalid_field', 'name')),
        ('POST', '/api/v1/projects', {'name': 'A', 'retention_days': 0}, (422, 'invalid_field', 'retention_days')),
        ('POST', '/api/v1/projects', {'name': 'A', 'retention_days': '7'}, (422, 'invalid_field', 'retention_days')),
        ('POST', '/api/v1/projects', {'name': 'A', 'retention_days': True}, (422, 'invalid_field', 'retention_days')),
        ('POST', '/api/v1/projects', {'name': 'A', 'slug': 'a'}, (422, 'invalid_field', 'slug')),
        ('POST', '/api/v1/projects', ['A'], (422, 'invalid_field', None)),
        ('POST', '/api/v1/projects', b'{"name": ', (400, 'invalid_json', None)),
        ('PATCH', '/api/v1/projects/shop', {}, (422, 'invalid_field', None)),
        ('PATCH', '/api/v1/projects/shop', {'retention_days': 99999}, (422, 'invalid_field', 'retention_days')),
        ('PATCH', '/api/v1/projects/nope', {'name': 'B'}, (404, 'not_found', 'project')),
        ('GET', '/api/v1/projects/nope', None, (404, 'not_found', 'project')),
        ('DELETE', '/api/v1/projects/999', None, (404, 'not_found', 'project')),
        ('GET', '/api/v1/projects/nope/keys', None, (404, 'not_found', 'project')),
        ('POST', '/api/v1/projects/nope/keys', {}, (404, 'not_found', 'project')),
        ('POST', '/api/v1/projects/shop/keys', {'permissions': []}, (422, 'invalid_field', 'permissions')),
        ('POST', '/api/v1/projects/shop/keys', {'permissions': ['root']}, (422, 'invalid_field', 'permissions')),
        ('POST', '/api/v1/projects/shop/keys', {'permissions': 'ingest'}, (201, None, None)),
        ('POST', '/api/v1/projects/shop/keys', {'permissions': [1]}, (422, 'invalid_field', 'permissions')),
        ('POST', '/api/v1/projects/shop/keys', {'name': ''}, (422, 'invalid_field', 'name')),
        ('POST', '/api/v1/projects/shop/keys', {'key': 'pk_mine'}, (422, 'invalid_field', 'key')),
        ('DELETE', '/api/v1/keys/999', None, (404, 'not_found', 'key')),
        ('DELETE', '/api/v1/keys/abc', None, (404, 'not_found', 'key')),
        ('PUT', '/api/v1/projects/shop', {'name': 'B'}, (405, 'method_not_allowed', None)),
        ('POST', '/api/v1/keys/1', None, (405, 'method_not_allowed', None)),
    ],
)
async def test_management_errors_are_json_with_the_field(api, method, path, body, expected):
    response = await call(api, method, path, body)
    if expected[0] == 201:
        assert response.status_code == 201
        return
    assert error_of(response) == expected


async def test_management_bodies_follow_the_ingestion_rules(api):
    wrong_type = await call(api, 'POST', '/api/v1/projects', {'name': 'A'}, **{'Content-Type': 'text/plain'})
    assert error_of(wrong_type)[:2] == (415, 'unsupported_media_type')
    huge = await call(api, 'POST', '/api/v1/projects', b'{"name": "' + b'x' * 6_000_000 + b'"}')
    assert error_of(huge)[:2] == (413, 'payload_too_large')
    with api.services.db.connection_context():
        assert Project.select().count() == 1
