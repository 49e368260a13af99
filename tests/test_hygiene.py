"""Operational hygiene, through a real `pulsekit serve`: private files, revocation from another
process, trusted proxies only, no secret in the log, a quiet log when idle."""

import json
import stat
import time
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pulsekit.config import ConfigError, load_settings
from pulsekit.db import open_database
from pulsekit.services import start_services

from .alert_support import Receiver, ServerProcess, cli
from .conftest import start_api
from .server import pulsekit_cli
from .test_alerts_restart import allow_private_targets, wait_for_requests
from .test_browser import EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (browser: a fixture)

IDLE_S = 12  # longer than every periodic job's interval but the hourly ones (1 s, 5 s, 10 s)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only
def test_database_wal_backups_and_data_dir_are_private(tmp_path, settings):
    services = start_services(settings)
    try:
        with services.db.connection_context():
            services.db.execute_sql('CREATE TABLE probe (x)')  # a write: the WAL exists now
        db_path = settings.sqlite_path
        assert mode(settings.data_dir) == 0o700
        for path in (db_path, db_path.with_name(db_path.name + '-wal'), db_path.with_name(db_path.name + '-shm')):
            assert path.exists() and mode(path) == 0o600, path
        backup = tmp_path / 'backup.db'
        out = json.loads(pulsekit_cli(settings.data_dir, 'backup', str(backup), '--json').stdout)
        assert out['bytes'] > 0 and mode(backup) == 0o600
        again = pulsekit_cli(settings.data_dir, 'backup', str(backup), check=False)
        assert again.returncode == 1 and 'exists' in again.stderr  # never overwrites
    finally:
        services.close()


def test_a_database_created_world_readable_is_made_private_when_opened(tmp_path):
    data_dir = tmp_path / 'old'
    data_dir.mkdir(mode=0o755)
    (data_dir / 'pulsekit.db').touch(mode=0o644)
    data_dir.chmod(0o755)
    (data_dir / 'pulsekit.db').chmod(0o644)
    open_database(replace(load_settings({}), data_dir=data_dir)).close()
    assert mode(data_dir) == 0o700 and mode(data_dir / 'pulsekit.db') == 0o600


async def test_the_session_cookie_is_secure_when_the_public_url_is_https(settings):
    for base_url, secure in (('https://pulse.example.com', True), (None, False)):
        async for api in start_api(replace(settings, base_url=base_url)):
            response = await api.client.get('/login')
            cookie = response.headers['set-cookie'].lower()
            assert cookie.startswith('session=') and ('; secure' in cookie) is secure
            assert 'samesite=lax' in cookie and 'httponly' in cookie


def test_trusted_proxies_must_be_addresses_or_networks():
    assert load_settings({'PULSEKIT_TRUSTED_PROXIES': '127.0.0.1, 10.0.0.0/8'}).trusted_proxies == (
        '127.0.0.1',
        '10.0.0.0/8',
    )
    assert load_settings({}).trusted_proxies == ()
    with pytest.raises(ConfigError, match='PULSEKIT_TRUSTED_PROXIES'):
        load_settings({'PULSEKIT_TRUSTED_PROXIES': 'proxy.internal'})


def _sender_address(server, key: str, project_id: int, forwarded_for: str) -> str:
    """The address the server takes a request to come from (Sentry's {{auto}} user address)."""
    event = {'message': 'where from', 'user': {'ip_address': '{{auto}}'}}
    response = httpx.post(
        f'{server.url}/api/{project_id}/store/',
        json=event,
        headers={'X-Sentry-Auth': f'Sentry sentry_key={key}', 'X-Forwarded-For': forwarded_for},
    )
    assert response.status_code == 200, response.text
    [stored] = httpx.get(f'{server.url}/api/v1/events', headers={'X-PulseKit-Key': key}).json()['events'][:1]
    return stored['user']['ip_address']


def test_x_forwarded_for_is_believed_only_from_configured_proxies(tmp_path):
    data_dir = tmp_path / 'data'
    project = cli(data_dir, 'project', 'create', 'Shop')
    key = cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest,read')['key']
    with ServerProcess(data_dir) as server:  # default: no proxy is trusted, not even 127.0.0.1
        assert _sender_address(server, key, project['id'], '203.0.113.9') == '127.0.0.1'
    with ServerProcess(data_dir, {'PULSEKIT_TRUSTED_PROXIES': '127.0.0.1'}) as server:
        assert _sender_address(server, key, project['id'], '203.0.113.9') == '203.0.113.9'


def test_a_key_revoked_with_the_cli_is_refused_by_the_running_server_within_a_second(tmp_path):
    data_dir = tmp_path / 'data'
    project = cli(data_dir, 'project', 'create', 'Shop')
    key = cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'ingest')
    headers = {'X-PulseKit-Key': key['key']}
    with ServerProcess(data_dir) as server:
        send = lambda: httpx.post(f'{server.url}/api/v1/events', json={'message': 'm'}, headers=headers)  # noqa: E731
        assert send().status_code == 202  # the key is cached as valid now
        cli(data_dir, 'key', 'revoke', str(key['id']))  # another process
        time.sleep(1.0)
        assert send().status_code == 401


def test_no_secret_reaches_the_server_log_in_a_full_scenario(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    project = cli(data_dir, 'project', 'create', 'Shop')
    created = [
        cli(data_dir, 'key', 'create', '--project', project['slug'], '--permissions', perms)
        for perms in ('ingest', 'read', 'admin')
    ]
    ingest, read, admin = (k['key'] for k in created)
    allow_private_targets(data_dir)
    receiver = Receiver(script=[(500, {}, b'down')])
    hook_token = 'T0KEN-hook-path-secret-7f3a9c'  # like Slack's and Discord's, the URL itself is the secret
    secrets = [ingest, read, admin, hook_token]
    try:
        with ServerProcess(data_dir, {'PULSEKIT_WEBHOOK_RETRY_DELAYS_S': '1'}) as server:
            url = server.url
            cookie = httpx.get(f'{url}/login').cookies['session']
            secrets.append(cookie)
            secrets += _browser_login(browser, url, data_dir)  # session cookies before and after, the ticket
            rule = httpx.post(
                f'{url}/api/v1/alert-rules',
                json={'project': project['id'], 'name': 'New errors', 'rule_type': 'new_error', 'cooldown_s': 0,
                      'webhook_url': f'{receiver.url}/{hook_token}?token={hook_token}'},
                headers={'X-PulseKit-Key': admin},
            ).json()  # fmt: skip
            secrets.append(rule['webhook_secret'])
            error = {'level': 'error', 'message': 'boom', 'exception': {'type': 'RuntimeError'}}
            assert httpx.post(f'{url}/api/v1/events', json=error, headers={'X-PulseKit-Key': ingest}).is_success
            assert httpx.post(
                f'{url}/api/v1/events/batch', json={'events': [error]}, headers={'Authorization': f'Bearer {ingest}'}
            ).is_success
            sentry = f'{url}/api/{project["id"]}'
            assert httpx.post(
                f'{sentry}/store/?sentry_key={ingest}&sentry_version=7', json={'message': 'hi'}
            ).is_success
            envelope = json.dumps({'dsn': f'http://{ingest}@127.0.0.1/{project["id"]}'}) + '\n'
            envelope += '{"type": "event"}\n' + json.dumps({'message': 'from an envelope'}) + '\n'
            assert httpx.post(f'{sentry}/envelope/', content=envelope).is_success
            # Refusals and odd requests, with keys and cookies in every place they can go.
            for headers in (
                {'X-PulseKit-Key': ingest + 'x'},
                {'X-PulseKit-Key': read},
                {'Cookie': f'session={cookie}'},
            ):
                httpx.post(f'{url}/api/v1/events', content=b'{"message": "\\ud800"}', headers=headers)
                httpx.get(f'{url}/api/v1/nowhere?sentry_key={ingest}', headers=headers)
                httpx.get(f'{url}/login?redirect_to=//evil&key={ingest}', headers=headers)
            httpx.post(f'{sentry}/store/', headers={'X-Sentry-Auth': f'Sentry sentry_key={ingest}'}, content=b'{')
            httpx.delete(f'{url}/api/v1/keys/{created[1]["id"]}', headers={'X-PulseKit-Key': admin})
            assert len(wait_for_requests(receiver, 2)) >= 2  # a failed delivery and its retry
            server.terminate()
            log = server.log()
    finally:
        receiver.close()
    assert 'webhook' in log  # the failed delivery was logged: the log is not empty by accident
    leaked = [s[:12] + '…' for s in secrets if s in log]
    assert not leaked, f'secrets in the server log: {leaked}\n{log}'


def _browser_login(chromium, url: str, data_dir) -> list[str]:
    """Log in with chromium; returns the session cookie before and after, and the login ticket."""
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    page = new_page(chromium)
    tickets = []
    page.on('request', lambda request: tickets.extend(parse_qs(urlsplit(request.url).query).get('ticket', [])))
    page.goto(f'{url}/login')
    before = {c['name']: c['value'] for c in page.context.cookies()}['session']
    log_in(page, url)
    after = {c['name']: c['value'] for c in page.context.cookies()}['session']
    assert after != before and len(tickets) == 1  # a new session id at login (no session fixation)
    page.goto(f'{url}/settings')
    page.get_by_text('Preferences', exact=True).wait_for()
    page.close()
    return [before, after, *tickets]


def test_an_idle_server_writes_nothing_to_its_log(tmp_path):
    data_dir = tmp_path / 'data'
    with ServerProcess(data_dir, {'PULSEKIT_ALERT_EVAL_INTERVAL_S': '5'}) as server:
        time.sleep(1)  # start-up lines are written
        before = server.log()
        time.sleep(IDLE_S)
        idle = server.log()[len(before) :]
    assert idle == '', idle
