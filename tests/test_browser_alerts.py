"""Browser journey on /alerts against a real `pulsekit serve`: a rule made in the form fires when
a matching event arrives, and its status and delivery log change without a reload."""

from __future__ import annotations

import httpx

from pulsekit.db import migrate, open_database
from pulsekit.instance_settings import set_setting

from .alert_support import Receiver
from .databases import settings_for
from .server import ServerProcess, create_project_and_key, pulsekit_cli
from .test_browser import ARTIFACTS, EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (fixture)


def allow_private_targets(data_dir) -> None:
    db = open_database(settings_for(data_dir))
    with db.connection_context():
        migrate(db)
        set_setting('allow_private_webhook_targets', True)  # the receiver is on 127.0.0.1
    db.close()


def test_rule_made_in_the_form_fires_and_the_page_updates_live(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    _, key = create_project_and_key(data_dir, 'ingest')
    allow_private_targets(data_dir)
    receiver = Receiver()
    try:
        with ServerProcess(data_dir) as server:
            page = new_page(browser)
            log_in(page, server.url)
            page.goto(f'{server.url}/alerts')
            page.get_by_text('No alert rules yet').wait_for()
            page.get_by_role('button', name='New rule').click()
            page.get_by_label('Name').fill('Payment failures')
            page.get_by_role('button', name='Pattern').click()
            page.get_by_label('Message pattern (RE2 regular expression)').fill('(?=bad')
            page.get_by_label('Webhook URL').fill(receiver.url)
            page.get_by_role('button', name='Save rule').click()
            page.get_by_text('Config.pattern is not a valid RE2 regular expression', exact=False).wait_for()
            page.get_by_label('Message pattern (RE2 regular expression)').fill('(?i)payment (failed|declined)')
            page.get_by_label('Cooldown').click()
            page.get_by_role('option', name='None').click()
            page.get_by_role('button', name='Save rule').click()
            page.get_by_text('never fired').wait_for()
            page.get_by_text('OK', exact=True).wait_for()

            event = {'type': 'log', 'level': 'warning', 'message': 'Payment declined for order 7'}
            reply = httpx.post(f'{server.url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key['key']})
            assert reply.status_code == 202
            page.get_by_text('Firing', exact=True).first.wait_for(timeout=5000)  # live, without a reload
            assert receiver.requests and receiver.requests[0].json()['events'][0]['message'] == event['message']
            page.get_by_text('Delivery log').click()
            page.locator('td', has_text='delivered').wait_for(timeout=5000)
            page.wait_for_timeout(400)  # let the tab transition finish for the screenshot
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / 'alerts-light.png'), full_page=True)
            assert page.js_errors == []
    finally:
        receiver.close()


def test_a_threshold_spike_fires_once_counts_on_home_and_reads_well_in_the_history(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    project, key = create_project_and_key(data_dir, 'ingest')
    allow_private_targets(data_dir)
    receiver = Receiver()
    try:
        with ServerProcess(data_dir, env={'PULSEKIT_ALERT_EVAL_INTERVAL_S': '1'}) as server:
            page = new_page(browser)
            log_in(page, server.url)
            page.goto(f'{server.url}/alerts')
            page.get_by_role('button', name='New rule').click()
            page.get_by_label('Name').fill('Checkout spike')
            page.get_by_role('button', name='Threshold').click()
            page.get_by_label('More than N events').fill('2')
            page.get_by_label('Webhook URL').fill(receiver.url)
            page.get_by_role('button', name='Save rule').click()
            page.get_by_text('never fired').wait_for()
            # A spike of 3 errors in the default 5-minute window crosses N = 2.
            for i in range(3):
                event = {'type': 'error', 'level': 'error', 'message': f'card declined {i}'}
                reply = httpx.post(f'{server.url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key['key']})
                assert reply.status_code == 202
            page.get_by_text('Firing', exact=True).first.wait_for(timeout=8000)
            page.wait_for_timeout(3000)  # three more checks while it stays over: still one notification
            assert [r.json()['alert']['status'] for r in receiver.requests] == ['firing']
            page.goto(f'{server.url}/?range=1h')
            kpi = page.locator('.pk-card', has_text='Firing alerts')
            assert kpi.locator('.pk-kpi').inner_text() == '1'
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for theme in ('light', 'dark'):
                if theme == 'dark':
                    page.locator('.q-btn', has=page.locator('i', has_text='dark_mode')).click()
                    page.wait_for_function("document.body.classList.contains('body--dark')")
                page.goto(f'{server.url}/alerts')
                page.get_by_role('link', name='Checkout spike').click()
                page.locator('td', has_text='card declined 0').wait_for(timeout=5000)
                row = page.locator('tr', has_text='card declined 0').first
                assert '(5m)' in row.inner_text() and 'threshold:' not in row.inner_text()
                page.wait_for_timeout(400)
                page.screenshot(path=str(ARTIFACTS / f'alerts-threshold-{theme}.png'), full_page=True)
            assert page.js_errors == []
            assert project['slug']
    finally:
        receiver.close()
