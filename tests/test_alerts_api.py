"""The alert management API through the production app (ASGI), with a real webhook receiver on 127.0.0.1."""

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from nicegui.testing import general

from pulsekit.alerts import signing
from pulsekit.app import create_app
from pulsekit.instance_settings import set_setting
from pulsekit.projects import create_key, create_project

from .alert_support import Receiver
from .databases import settings_for


@dataclass
class Api:
    client: httpx.AsyncClient
    admin: dict
    ingest: dict
    read: dict
    project_id: int

    async def create(self, **fields):
        body = {'project': self.project_id, 'name': 'New errors', 'rule_type': 'new_error', 'config': {}, **fields}
        return await self.client.post('/api/v1/alert-rules', json=body, headers=self.admin)

    async def get(self, path):
        return await self.client.get(path, headers=self.admin)


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:
    settings = settings_for(tmp_path / 'data', webhook_retry_delays_s=(0.05, 0.05))
    with general.nicegui_reset_globals():
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            with app.state.services.db.connection_context():
                set_setting('allow_private_webhook_targets', True)
                project = create_project('Shop')
                keys = {p: create_key(project, p, [p])[1] for p in ('admin', 'ingest', 'read')}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url='http://test') as client:
                yield Api(client, *({'X-PulseKit-Key': keys[p]} for p in ('admin', 'ingest', 'read')), project.id)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def test_rules_are_created_read_updated_and_deleted(api, receiver):
    created = await api.create(webhook_url=receiver.url, cooldown_s=60)
    assert created.status_code == 201
    rule = created.json()
    assert rule['webhook_secret'].startswith('whsec_') and rule['status'] == 'ok'
    assert rule['config'] == {'include_regressions': False} and rule['webhook_format'] == 'json'
    listed = (await api.get('/api/v1/alert-rules')).json()['alert_rules']
    assert [r['id'] for r in listed] == [rule['id']]
    path = f'/api/v1/alert-rules/{rule["id"]}'
    patched = await api.client.patch(
        path, json={'name': 'Renamed', 'enabled': False, 'rotate_secret': True}, headers=api.admin
    )
    assert patched.status_code == 200
    assert patched.json()['name'] == 'Renamed' and patched.json()['status'] == 'disabled'
    assert patched.json()['webhook_secret'] != rule['webhook_secret']
    assert (await api.get(path)).json()['name'] == 'Renamed'
    assert (await api.client.delete(path, headers=api.admin)).status_code == 204
    missing = await api.get(path)
    assert missing.status_code == 404 and missing.json()['error']['code'] == 'not_found'


@pytest.mark.parametrize(
    ('fields', 'field'),
    [
        ({'rule_type': 'pattern', 'config': {'pattern': '(?<=x)y'}}, 'config.pattern'),
        ({'rule_type': 'threshold', 'config': {'threshold': -1}}, 'config.threshold'),
        ({'webhook_url': 'not a url'}, 'webhook_url'),
        ({'name': ''}, 'name'),
    ],
)
async def test_invalid_rules_get_422_naming_the_field(api, receiver, fields, field):
    response = await api.create(**{'webhook_url': receiver.url, **fields})
    assert response.status_code == 422
    assert response.json()['error']['field'] == field


async def test_the_management_api_needs_an_admin_key(api, receiver):
    for headers, status in ((api.ingest, 403), (api.read, 403), ({}, 401)):
        assert (await api.client.get('/api/v1/alert-rules', headers=headers)).status_code == status
    body = {'project': api.project_id, 'name': 'x', 'rule_type': 'new_error', 'webhook_url': receiver.url}
    assert (await api.client.post('/api/v1/alert-rules', json=body, headers=api.read)).status_code == 403


async def test_an_ingested_error_reaches_the_webhook_and_shows_in_firings_and_deliveries(api, receiver):
    rule = (await api.create(webhook_url=receiver.url, cooldown_s=0)).json()
    event = {'type': 'error', 'level': 'error', 'message': 'card declined', 'exception': {'type': 'CardError'}}
    sent = await api.client.post('/api/v1/events', json=event, headers=api.ingest)
    assert sent.status_code == 202
    [request] = await receiver.wait_for(1)
    signing.verify(rule['webhook_secret'], request.headers, request.body, now_s=time.time())
    assert request.json()['events'][0]['id'] == sent.json()['id']
    path = f'/api/v1/alert-rules/{rule["id"]}'
    [firing] = (await api.get(f'{path}/firings')).json()['firings']
    assert firing['window_key'].startswith('issue:') and firing['is_test'] is False

    async def delivered():
        deliveries = (await api.get(f'{path}/deliveries')).json()['deliveries']
        return deliveries if deliveries and deliveries[0]['status'] == 'delivered' else None

    deliveries = None
    for _ in range(100):
        deliveries = await delivered()
        if deliveries:
            break
        await receiver.wait_for(2, timeout_s=0.05)
    [delivery] = deliveries
    [attempt] = delivery['attempt_log']
    assert attempt['status_code'] == 200 and attempt['response_snippet'] == 'ok' and attempt['latency_ms'] >= 0
    assert (await api.get(path)).json()['status'] == 'firing'


async def test_send_test_webhook(api, receiver):
    rule = (await api.create(webhook_url=receiver.url, webhook_format='slack', enabled=False)).json()
    response = await api.client.post(f'/api/v1/alert-rules/{rule["id"]}/test', headers=api.admin)
    assert response.status_code == 202 and response.json()['delivery']['status'] == 'pending'
    [request] = await receiver.wait_for(1)
    signing.verify(rule['webhook_secret'], request.headers, request.body, now_s=time.time())
    assert request.json()['text'].startswith('[test] New errors fired in Shop')
    firings = (await api.get(f'/api/v1/alert-rules/{rule["id"]}/firings')).json()['firings']
    assert firings[0]['is_test'] is True


async def test_preview_counts_how_often_a_rule_would_have_fired(api, receiver):
    events = [{'type': 'log', 'level': 'error', 'message': f'payment failed #{i}'} for i in range(4)]
    sent = await api.client.post('/api/v1/events/batch', json={'events': events}, headers=api.ingest)
    assert sent.status_code == 202
    preview = await api.client.post(
        '/api/v1/alert-rules/preview',
        json={'project': api.project_id, 'rule_type': 'pattern', 'config': {'pattern': 'payment'}, 'cooldown_s': 0},
        headers=api.admin,
    )
    assert preview.status_code == 200
    assert preview.json()['would_fire'] == 4 and sum(preview.json()['hourly']) == 4
    threshold = {'threshold': 3, 'window_s': 60}
    preview = await api.client.post(
        '/api/v1/alert-rules/preview',
        json={'project': api.project_id, 'rule_type': 'threshold', 'config': threshold, 'cooldown_s': 3600},
        headers=api.admin,
    )
    assert preview.json()['would_fire'] == 1  # above 3 for a few grid points, but one cooldown


async def test_deleting_a_rule_is_refused_for_unknown_ids(api):
    response = await api.client.delete('/api/v1/alert-rules/999', headers=api.admin)
    assert response.status_code == 404
