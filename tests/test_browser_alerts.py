"""Browser journey on /alerts against a real `pulsekit serve`: a rule made in the form fires when
a matching event arrives, and its status and delivery log change without a reload."""

from __future__ import annotations

import httpx

from pulsekit.config import Settings
from pulsekit.db import migrate, open_database
from pulsekit.instance_settings import set_setting

from .alert_support import Receiver
from .server import ServerProcess, create_project_and_key, pulsekit_cli
from .test_browser import ARTIFACTS, EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (fixture)


def allow_private_targets(data_dir) -> None:
    db = open_database(Settings(data_dir=data_dir))
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
            page.get_by_text('Firing', exact=True).wait_for(timeout=5000)  # live, without a reload
            assert receiver.requests and receiver.requests[0].json()['events'][0]['message'] == event['message']
            page.get_by_text('Delivery log').click()
            page.locator('td', has_text='delivered').wait_for(timeout=5000)
            page.wait_for_timeout(400)  # let the tab transition finish for the screenshot
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / 'alerts-light.png'), full_page=True)
            assert page.js_errors == []
    finally:
        receiver.close()
