"""CORS on the native ingest endpoints: browser pages post events cross-origin (api/cors.py, origins.py).

Through the production app over ASGI with a real SQLite file, both through the ingest lane
(how `pulsekit serve` answers) and through the routes behind the middleware stack.
"""

import orjson
import pytest

from pulsekit.models import Event
from pulsekit.origins import clean_allowed_origins, is_origin_allowed

SHOP = 'https://shop.example.com'
OTHER = 'https://evil.example.net'
EVENT = {'message': 'from a browser', 'level': 'error'}


@pytest.fixture(params=['lane', 'routes'])
def api_path(request, api):
    """The harness, served by the ingest lane or (lane off) by the routes behind the middleware."""
    app = api.client._transport.app  # the ASGI app under test
    saved = app.lane
    if request.param == 'routes':
        app.lane = None
    yield api
    app.lane = saved


async def post(api, path, origin=None, key=None, body=None):
    headers = api.headers(key)
    if origin:
        headers['Origin'] = origin
    return await api.client.post(path, content=orjson.dumps(body or EVENT), headers=headers)


async def patch_origins(api, value):
    response = await api.client.patch(
        '/api/v1/projects/shop', content=orjson.dumps({'allowed_origins': value}), headers=api.headers(api.admin_key)
    )
    assert response.status_code == 200, response.text
    return response.json()


def stored_messages(api) -> int:
    with api.services.db.connection_context():
        return Event.select().where(Event.project == api.project_id).count()


@pytest.mark.parametrize('path', ['/api/v1/events', '/api/v1/events/batch'])
async def test_preflight_is_answered_for_any_origin_with_the_sdk_headers(api_path, path):
    response = await api_path.client.options(
        path,
        headers={
            'Origin': SHOP,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type, content-encoding, x-pulsekit-key',
        },
    )
    assert response.status_code == 204
    assert response.headers['access-control-allow-origin'] == SHOP
    assert 'POST' in response.headers['access-control-allow-methods']
    allowed = {h.strip() for h in response.headers['access-control-allow-headers'].split(',')}
    assert {'content-type', 'content-encoding', 'x-pulsekit-key', 'authorization'} <= allowed
    assert int(response.headers['access-control-max-age']) > 0
    assert 'set-cookie' not in response.headers


async def test_ingest_only_key_is_accepted_from_any_origin_by_default(api_path):
    single = await post(api_path, '/api/v1/events', origin=OTHER)
    batch = await post(api_path, '/api/v1/events/batch', origin=SHOP, body={'events': [EVENT, EVENT]})
    assert (single.status_code, batch.status_code) == (202, 202)
    assert single.headers['access-control-allow-origin'] == OTHER
    assert batch.headers['access-control-allow-origin'] == SHOP
    assert 'retry-after' in batch.headers['access-control-expose-headers']
    assert stored_messages(api_path) == 3


async def test_a_key_that_can_read_is_refused_from_a_web_page_by_default(api_path):
    response = await post(api_path, '/api/v1/events', origin=SHOP, key=api_path.admin_key)
    assert response.status_code == 403
    assert response.json()['error']['code'] == 'forbidden'
    # The refusal is readable by the page, so a browser SDK stops instead of retrying blindly.
    assert response.headers['access-control-allow-origin'] == SHOP
    assert stored_messages(api_path) == 0
    # The same key from a server (no Origin) is unaffected.
    assert (await post(api_path, '/api/v1/events', key=api_path.admin_key)).status_code == 202


async def test_listed_origins_are_the_only_ones_accepted(api_path):
    project = await patch_origins(api_path, [SHOP + '/', 'http://localhost:3000'])
    assert project['allowed_origins'] == [SHOP, 'http://localhost:3000']
    assert (await post(api_path, '/api/v1/events', origin=SHOP)).status_code == 202
    refused = await post(api_path, '/api/v1/events/batch', origin=OTHER, body={'events': [EVENT]})
    assert refused.status_code == 403 and 'allowed_origins' in refused.json()['error']['message']
    assert (await post(api_path, '/api/v1/events')).status_code == 202  # no Origin: not a browser
    assert stored_messages(api_path) == 2


async def test_star_allows_every_origin_for_every_key_and_null_restores_the_default(api_path):
    await patch_origins(api_path, ['*'])
    assert (await post(api_path, '/api/v1/events', origin=OTHER, key=api_path.admin_key)).status_code == 202
    project = await patch_origins(api_path, None)
    assert project['allowed_origins'] is None
    assert (await post(api_path, '/api/v1/events', origin=OTHER, key=api_path.admin_key)).status_code == 403


async def test_errors_carry_the_cors_headers_and_requests_without_origin_get_none(api_path):
    bad_key = await post(api_path, '/api/v1/events', origin=SHOP, key='pk_unknown')
    assert bad_key.status_code == 401 and bad_key.headers['access-control-allow-origin'] == SHOP
    plain = await post(api_path, '/api/v1/events')
    assert plain.status_code == 202 and 'access-control-allow-origin' not in plain.headers


async def test_other_api_paths_get_no_cors(api):
    response = await api.client.get('/api/v1/events', headers={**api.headers(api.read_key), 'Origin': SHOP})
    assert response.status_code == 200 and 'access-control-allow-origin' not in response.headers


async def test_allowed_origins_are_validated_by_the_management_api(api):
    response = await api.client.post(
        '/api/v1/projects',
        content=orjson.dumps({'name': 'Web', 'allowed_origins': ['https://ok.example', 'https://x.example/path']}),
        headers=api.headers(api.admin_key),
    )
    assert response.status_code == 422 and response.json()['error']['field'] == 'allowed_origins[1]'
    created = await api.client.post(
        '/api/v1/projects',
        content=orjson.dumps({'name': 'Web', 'allowed_origins': ['HTTPS://Web.Example']}),
        headers=api.headers(api.admin_key),
    )
    assert created.status_code == 201 and created.json()['allowed_origins'] == ['https://web.example']


@pytest.mark.parametrize(
    ('value', 'expected'),
    [
        (None, None),
        ([], []),
        ('https://a.example, https://b.example:8443', ['https://a.example', 'https://b.example:8443']),
        (['*', '*'], ['*']),
        (['null'], ['null']),
    ],
)
def test_clean_allowed_origins(value, expected):
    assert clean_allowed_origins(value) == expected


@pytest.mark.parametrize(
    ('allowed', 'origin', 'permissions', 'expected'),
    [
        (None, SHOP, {'ingest'}, True),
        (None, SHOP, {'ingest', 'read'}, False),
        (None, SHOP, {'admin'}, False),
        ([SHOP], SHOP, {'ingest', 'read'}, True),
        ([SHOP], OTHER, {'ingest'}, False),
        ([], SHOP, {'ingest'}, False),
        (['*'], OTHER, {'admin'}, True),
    ],
)
def test_is_origin_allowed(allowed, origin, permissions, expected):
    assert is_origin_allowed(allowed, origin, frozenset(permissions)) is expected
