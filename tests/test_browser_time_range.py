"""Browser journey: a Custom range picked in the dialog applies on home, events and issues and lives in the URL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx

from .server import ServerProcess, create_project_and_key, pulsekit_cli
from .test_browser import ARTIFACTS, EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (fixture)


def send(server, key, message, when: datetime) -> None:
    exception = {'type': message.title().replace(' ', ''), 'value': message}
    event = {'id': str(uuid.uuid4()), 'type': 'error', 'level': 'error', 'message': message,
             'exception': exception, 'timestamp': when.isoformat()}  # fmt: skip
    reply = httpx.post(f'{server.url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key['key']})
    assert reply.status_code == 202


def pick_today_twice(page, now: datetime) -> None:
    """In the range calendar (it opens on this month), click today as first and last day."""
    page.locator('.q-date__navigation', has_text=now.strftime('%B')).wait_for()
    day = page.locator('button.q-date__today')
    day.click()
    day.click()


def kpi(page, label: str) -> str:
    return page.locator('.pk-card', has_text=label).locator('.pk-kpi').first.inner_text()


def test_a_custom_range_picked_in_the_dialog_applies_everywhere_and_lives_in_the_url(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    _, key = create_project_and_key(data_dir, 'ingest')
    with ServerProcess(data_dir) as server:
        now = datetime.now(UTC)
        send(server, key, 'old failure', now - timedelta(days=3))
        send(server, key, 'fresh failure', now - timedelta(seconds=20))
        send(server, key, 'fresh failure', now - timedelta(seconds=10))
        page = new_page(browser)
        log_in(page, server.url)
        page.goto(f'{server.url}/?range=7d')
        assert kpi(page, 'Events') == '3'

        page.get_by_role('button', name='Custom').click()
        pick_today_twice(page, now)
        page.get_by_label('From').fill('00:00')
        page.get_by_label('To (included)').fill('23:59')
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / 'time-range-dialog-light.png'))
        page.get_by_role('button', name='Apply').click()
        page.wait_for_url(re.compile(r'range=custom'))
        query = parse_qs(urlparse(page.url).query)
        assert query['start'] == [f'{now:%Y-%m-%d}T00:00Z'] and query['end'] == [
            f'{now + timedelta(days=1):%Y-%m-%d}T00:00Z'
        ]
        page.wait_for_function(
            "document.querySelector('.pk-kpi') && document.querySelector('.pk-kpi').innerText === '2'"
        )
        assert kpi(page, 'Events') == '2'  # the old failure is outside today
        page.get_by_role('button', name=now.strftime('%b %d')).wait_for()  # the selector shows the range
        page.screenshot(path=str(ARTIFACTS / 'home-custom-range-light.png'))

        page.locator('.pk-card', has_text='Events').first.click()  # the card keeps the range
        page.wait_for_url(re.compile(r'/events\?.*range=custom'))
        page.locator('td', has_text='fresh failure').first.wait_for()
        assert page.locator('td', has_text='old failure').count() == 0
        assert page.locator('tbody tr').count() == 2

        page.goto(f'{server.url}/issues?range=7d')
        page.locator('a', has_text='old failure').wait_for()
        page.get_by_role('button', name='Custom').click()
        pick_today_twice(page, now)
        page.get_by_role('button', name='Apply').click()
        page.wait_for_url(re.compile(r'/issues\?.*range=custom'))
        page.locator('a', has_text='fresh failure').wait_for()
        assert page.locator('a', has_text='old failure').count() == 0
        page.screenshot(path=str(ARTIFACTS / 'issues-custom-range-light.png'))
        assert page.js_errors == []
