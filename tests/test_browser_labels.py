"""Browser journeys: labels made on the project page, put on an issue, seen live in another open
dashboard and used as a filter; a noisy tag key hidden from the facets."""

from __future__ import annotations

import re
import uuid

import httpx

from .server import ServerProcess, create_project_and_key, pulsekit_cli
from .test_browser import ARTIFACTS, EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (fixture)


def test_a_label_put_on_an_issue_shows_live_elsewhere_and_filters_the_list(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    project, key = create_project_and_key(data_dir, 'ingest')
    with ServerProcess(data_dir) as server:
        for message in ('card declined', 'redis down'):
            event = {'id': str(uuid.uuid4()), 'type': 'error', 'level': 'error', 'message': message,
                     'exception': {'type': message.title().replace(' ', ''), 'value': message},
                     'tags': {'region': 'eu-west', 'request_id': str(uuid.uuid4())}}  # fmt: skip
            reply = httpx.post(f'{server.url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key['key']})
            assert reply.status_code == 202
        page = new_page(browser)
        log_in(page, server.url)
        page.goto(f'{server.url}/projects/{project["slug"]}')
        page.get_by_label('New label').fill('customer')
        page.get_by_role('button', name='Add label').click()
        page.get_by_text('customer', exact=True).first.wait_for()
        page.locator('.q-item, div', has_text=re.compile('^request_id')).first.wait_for()
        row = page.locator('div.q-row, div.row', has_text='request_id').last
        row.get_by_text('Hidden').click()  # a key with a value per event: noise in the facets
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / 'project-labels-tags-light.png'), full_page=True)

        other = new_page(browser)  # a second dashboard, open on the issues list
        log_in(other, server.url)
        other.goto(f'{server.url}/issues')
        other.locator('a', has_text='card declined').wait_for()

        page.goto(f'{server.url}/issues')
        page.locator('a', has_text='card declined').click()
        page.wait_for_url(re.compile(r'/issues/\d+'))
        page.get_by_label('Add label').click()
        page.get_by_role('option', name='customer').click()
        page.locator('.q-chip', has_text='customer').wait_for()
        # Live in the other dashboard, without a reload.
        other.locator('tr', has_text='card declined').locator('.q-badge', has_text='customer').wait_for(timeout=5000)
        other.get_by_label('Label').click()
        other.get_by_role('option', name='customer').click()
        other.wait_for_url(re.compile(r'label=\d+'))
        other.locator('a', has_text='card declined').wait_for()
        assert other.locator('a', has_text='redis down').count() == 0
        other.screenshot(path=str(ARTIFACTS / 'issues-labels-light.png'))

        page.goto(f'{server.url}/events?project={project["id"]}')
        page.get_by_text('REGION').wait_for()
        assert page.get_by_text('REQUEST_ID').count() == 0  # hidden from the facets
        assert page.js_errors == [] and other.js_errors == []
