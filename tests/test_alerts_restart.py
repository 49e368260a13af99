"""A pending webhook delivery survives a server restart: real `pulsekit serve` processes, a real receiver."""

import time

import httpx

from pulsekit.db import migrate, open_database
from pulsekit.instance_settings import set_setting

from .alert_support import Receiver, ServerProcess, cli
from .databases import settings_for

WAIT_S = 20.0


def wait_for_requests(receiver: Receiver, count: int, timeout_s: float = WAIT_S) -> list:
    deadline = time.monotonic() + timeout_s
    while len(receiver.requests) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return receiver.requests


def allow_private_targets(data_dir) -> None:
    db = open_database(settings_for(data_dir))
    with db.connection_context():
        migrate(db)
        set_setting('allow_private_webhook_targets', True)
    db.close()


def test_a_pending_delivery_is_sent_after_a_restart(tmp_path):
    data_dir = tmp_path / 'data'
    project = cli(data_dir, 'project', 'create', 'Shop')
    admin = cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'admin')['key']
    allow_private_targets(data_dir)
    receiver = Receiver(script=[(500, {}, b'down for maintenance')])
    env = {'PULSEKIT_WEBHOOK_RETRY_DELAYS_S': '3,3,3'}
    headers = {'X-PulseKit-Key': admin}
    try:
        with ServerProcess(data_dir, env) as server:
            rule = httpx.post(
                f'{server.url}/api/v1/alert-rules',
                json={'project': project['id'], 'name': 'New errors', 'rule_type': 'new_error',
                      'webhook_url': receiver.url, 'cooldown_s': 0},
                headers=headers,
            ).json()  # fmt: skip
            event = {'type': 'error', 'level': 'error', 'message': 'boom', 'exception': {'type': 'RuntimeError'}}
            assert httpx.post(f'{server.url}/api/v1/events', json=event, headers=headers).status_code == 202
            assert len(wait_for_requests(receiver, 1)) == 1  # the first attempt fails with 500
            server.terminate()  # stops before the retry is due
        assert len(receiver.requests) == 1
        with ServerProcess(data_dir, env) as server:
            [first, second] = wait_for_requests(receiver, 2)
            assert second.headers['webhook-id'] == first.headers['webhook-id']
            rule_path = f'{server.url}/api/v1/alert-rules/{rule["id"]}'
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                [delivery] = httpx.get(f'{rule_path}/deliveries', headers=headers).json()['deliveries']
                if delivery['status'] == 'delivered':
                    break
                time.sleep(0.05)
            assert delivery['status'] == 'delivered'
            assert [a['status_code'] for a in delivery['attempt_log']] == [500, 200]
            assert len(httpx.get(f'{rule_path}/firings', headers=headers).json()['firings']) == 1
            time.sleep(0.5)
        assert len(receiver.requests) == 2  # delivered once; the restart repeated nothing
    finally:
        receiver.close()
