"""Two `pulsekit serve` replicas on one PostgreSQL database, as behind a load balancer: live pages,
alerts, logins and key revocations hold across them (issue #16). Real processes, real browser,
a real webhook receiver; each replica has its own data folder, both share DATABASE_URL and
SECRET_KEY_BASE. Cookies are per host, not per port, so one browser on 127.0.0.1 carries the same
session cookie to both replicas, as it would through a load balancer."""

from __future__ import annotations

import collections
import json
import time
import uuid

import httpx
import pytest

from pulsekit.config import Settings
from pulsekit.keys import KEY_CHANGES_POLL_S

from .alert_support import Receiver, ServerProcess, cli
from .databases import database_env
from .server import pulsekit_cli
from .test_alerts_restart import allow_private_targets
from .test_browser import EMAIL, PASSWORD, browser, error_event, log_in, new_page  # noqa: F401  (browser: fixture)

pytestmark = pytest.mark.postgres_only

WAIT_S = 20.0  # every wait is bounded by this
KEY_CACHE_TTL_S = Settings.key_cache_ttl_s  # a revocation's documented bound (docs/operations.md, Several replicas)
SECRET = 'replica-test-secret-' + uuid.uuid4().hex  # shared by both replicas, as the docs ask
ENV = {
    'SECRET_KEY_BASE': SECRET,
    'PULSEKIT_ALERT_EVAL_INTERVAL_S': '1',
}


@pytest.fixture
def replicas(tmp_path, database_url):
    """Replicas A and B on this test's database, an admin user, a project and an admin key."""
    assert database_url, 'these tests need --db postgres'
    a_dir, b_dir = tmp_path / 'a', tmp_path / 'b'
    # Each data directory would get a database of its own (tests/databases.py); replicas share A's.
    env = {**ENV, **database_env(a_dir)}
    pulsekit_cli(a_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    project = cli(a_dir, 'project', 'create', 'Shop')
    admin_key = cli(a_dir, 'key', 'create', '--project', project['slug'], '--permissions', 'admin')['key']
    allow_private_targets(a_dir)
    with ServerProcess(a_dir, env) as a, ServerProcess(b_dir, env) as b:
        yield a, b, project, {'X-PulseKit-Key': admin_key}


def wait_for(predicate, timeout_s: float = WAIT_S, interval_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def session_cookie(page) -> str:
    [cookie] = [c for c in page.context.cookies() if c['name'] == 'session']
    return cookie['value']


def is_logged_in(url: str, cookie: str) -> bool:
    """A dashboard page answers 200 to a logged-in session and redirects anyone else to /login."""
    reply = httpx.get(f'{url}/issues', cookies={'session': cookie}, follow_redirects=False, timeout=10)
    assert reply.status_code in (200, 303), reply.status_code
    return reply.status_code == 200


def test_an_event_sent_to_one_replica_appears_live_on_a_page_served_by_the_other(replicas, browser):  # noqa: F811
    a, b, _project, headers = replicas
    page = new_page(browser)
    log_in(page, b.url)
    page.goto(f'{b.url}/events')
    page.get_by_text('No events yet').wait_for()
    page.evaluate('window.__not_reloaded = true')
    event = error_event('checkout failed on replica A')
    sent = time.monotonic()
    assert httpx.post(f'{a.url}/api/v1/events', json=event, headers=headers).status_code == 202
    page.locator('td', has_text='checkout failed on replica A').wait_for(timeout=WAIT_S * 1000)
    print(f'\nevent through A shown live on B after {time.monotonic() - sent:.2f} s')  # the issue asks < 1 s
    assert page.evaluate('window.__not_reloaded') is True  # pushed over the page's websocket, no reload
    assert page.js_errors == []


def test_webhooks_through_both_replicas_are_sent_once_and_the_threshold_fires_once(replicas):
    a, b, project, headers = replicas
    # A slow receiver: while one replica is still sending, the other's dispatcher finds the delivery due
    # unless it was claimed; each answer takes longer than a dispatch tick.
    receiver = Receiver(delay_s=1.5)
    try:
        rule = {'project': project['id'], 'webhook_url': receiver.url, 'cooldown_s': 0}
        new_error_rule = {**rule, 'name': 'New errors', 'rule_type': 'new_error'}
        new_error = httpx.post(f'{a.url}/api/v1/alert-rules', json=new_error_rule, headers=headers)
        threshold = httpx.post(
            f'{b.url}/api/v1/alert-rules',
            json={**rule, 'name': 'Error spike', 'rule_type': 'threshold',
                  'config': {'threshold': 3, 'window_s': 3600, 'level': ['error']}},
            headers=headers,
        )  # fmt: skip
        assert new_error.status_code == threshold.status_code == 201, (new_error.text, threshold.text)
        for i in range(6):  # six distinct errors (six issues), alternately through A and B
            replica = (a, b)[i % 2]
            event = error_event(f'failure number {i}', fingerprint=[f'failure-{i}'])
            assert httpx.post(f'{replica.url}/api/v1/events', json=event, headers=headers).status_code == 202
        assert len(wait_for(lambda: len(receiver.requests) >= 7 and receiver.requests)) == 7
        time.sleep(5)  # several dispatch ticks and threshold evaluations on both replicas
        bodies = [r.json() for r in receiver.requests]
        ids = [r.headers['webhook-id'] for r in receiver.requests]
        assert len(set(ids)) == len(ids) == 7  # each webhook delivered exactly once
        by_rule = collections.Counter(body['alert']['name'] for body in bodies)
        assert by_rule == {'New errors': 6, 'Error spike': 1}
        issues = {body['events'][0]['issue_id'] for body in bodies if body['alert']['name'] == 'New errors'}
        assert len(issues) == 6
        [spike] = [body for body in bodies if body['alert']['name'] == 'Error spike']
        assert spike['alert']['status'] == 'firing' and spike['context']['event_count'] > 3
        for replica in (a, b):  # both replicas read the same outbox: every delivery delivered, one attempt each
            rule_id = threshold.json()['id']
            deliveries = httpx.get(f'{replica.url}/api/v1/alert-rules/{rule_id}/deliveries', headers=headers).json()
            assert [(d['status'], len(d['attempt_log'])) for d in deliveries['deliveries']] == [('delivered', 1)]
    finally:
        receiver.close()


def test_logins_logouts_and_password_changes_hold_across_replicas(replicas, browser):  # noqa: F811
    a, b, _project, _headers = replicas
    first = new_page(browser)
    log_in(first, a.url)
    cookie = session_cookie(first)
    assert is_logged_in(b.url, cookie)  # logged in through A, logged in on B
    first.goto(f'{b.url}/issues')
    first.get_by_text('Issues').first.wait_for()
    assert '/login' not in first.url

    first.goto(f'{a.url}/logout')  # logging out on A ends that session on B too, even for a kept copy of the cookie
    assert not is_logged_in(b.url, cookie)
    assert not is_logged_in(a.url, cookie)

    log_in(first, a.url)
    kept = session_cookie(first)
    second = new_page(browser)  # another browser, logged in through B
    log_in(second, b.url)
    other = session_cookie(second)
    assert is_logged_in(a.url, other)
    first.goto(f'{a.url}/settings')  # the password changes on A: every other session of the user ends, everywhere
    first.get_by_label('Current password', exact=True).fill(PASSWORD)
    first.get_by_label('New password', exact=True).fill(PASSWORD + ' 2')
    first.get_by_label('Repeat new password').fill(PASSWORD + ' 2')
    first.get_by_role('button', name='Change password').click()
    first.get_by_text('Password changed').wait_for()
    assert not is_logged_in(b.url, other)
    assert not is_logged_in(a.url, other)
    assert is_logged_in(b.url, kept)  # the session that changed it stays logged in, on both replicas
    assert is_logged_in(a.url, kept)


def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_the_documented_bound(replicas):
    a, b, project, headers = replicas
    created = httpx.post(
        f'{a.url}/api/v1/projects/{project["id"]}/keys', json={'name': 'ci', 'permissions': ['ingest']}, headers=headers
    )
    assert created.status_code in (200, 201), created.text
    key = created.json()
    send = {'X-PulseKit-Key': key['key']}
    event = {'type': 'deploy', 'level': 'info', 'message': 'hello'}
    # A key created on A works on B (a refusal is cached for about a second only).
    assert wait_for(lambda: httpx.post(f'{b.url}/api/v1/events', json=event, headers=send).status_code == 202)
    assert httpx.post(f'{b.url}/api/v1/events', json=event, headers=send).status_code == 202  # now cached on B
    assert httpx.delete(f'{a.url}/api/v1/keys/{key["id"]}', headers=headers).status_code == 200
    revoked = time.monotonic()
    refused = wait_for(
        lambda: httpx.post(f'{b.url}/api/v1/events', json=event, headers=send).status_code == 401,
        timeout_s=KEY_CACHE_TTL_S,
        interval_s=KEY_CHANGES_POLL_S / 5,
    )
    print(f'\nkey revoked on A refused on B after {time.monotonic() - revoked:.2f} s')
    assert refused
    time.sleep(max(0.0, KEY_CACHE_TTL_S - (time.monotonic() - revoked)))  # the documented bound has passed
    for replica in (a, b):
        reply = httpx.post(f'{replica.url}/api/v1/events', json=event, headers=send)
        assert reply.status_code == 401 and json.loads(reply.text)['error']


def test_an_alert_rule_created_on_one_replica_applies_at_once_to_events_sent_to_the_other(replicas):
    a, b, project, headers = replicas
    receiver = Receiver()
    try:
        quiet = error_event('before any rule', fingerprint=['before'])
        assert httpx.post(f'{b.url}/api/v1/events', json=quiet, headers=headers).status_code == 202
        time.sleep(1)  # B has looked up which projects have rules: none (it remembers that for 10 s)
        rule = {'project': project['id'], 'webhook_url': receiver.url, 'cooldown_s': 0}
        created = httpx.post(
            f'{a.url}/api/v1/alert-rules',
            json={**rule, 'name': 'New errors', 'rule_type': 'new_error'},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        time.sleep(1)  # A's change reaches B over the replica bus within a second
        event = error_event('after the rule', fingerprint=['after'])
        assert httpx.post(f'{b.url}/api/v1/events', json=event, headers=headers).status_code == 202
        [request] = wait_for(lambda: receiver.requests, timeout_s=5)  # well within B's 10 s cache
        assert request.json()['events'][0]['message'] == 'after the rule'
    finally:
        receiver.close()
