"""Browser journey: search autocomplete on /events, driven by the keyboard, with the syntax help."""

from __future__ import annotations

import re
import uuid

import httpx

from .server import ServerProcess, create_project_and_key, pulsekit_cli
from .test_browser import ARTIFACTS, EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (fixture)


def choose(page, box, wanted: str) -> None:
    """Arrow down until `wanted` is highlighted (suggestions may still be arriving), then Enter."""
    active = page.locator('.q-menu .q-item--active')
    for _ in range(20):
        if active.count() and active.first.inner_text().split('\n')[0] == wanted:
            break
        box.press('ArrowDown')
        page.wait_for_timeout(150)
    box.press('Enter')


def test_suggestions_follow_the_token_being_typed_and_arrow_keys_pick_them(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    _, key = create_project_and_key(data_dir, 'ingest')
    bodies = [
        *[{'level': 'error', 'message': 'timeout talking to redis', 'tags': {'region': 'eu-west'}}] * 3,
        {'level': 'debug', 'message': 'timer fired', 'tags': {'region': 'us-east'}},
        {'level': 'error', 'message': 'card declined', 'tags': {'region': 'us-east'}},
    ]
    with ServerProcess(data_dir) as server:
        events = [{'id': str(uuid.uuid4()), 'type': 'log', **b} for b in bodies]
        reply = httpx.post(f'{server.url}/api/v1/events/batch', json={'events': events},
                           headers={'X-PulseKit-Key': key['key']})  # fmt: skip
        assert reply.status_code == 202
        page = new_page(browser)
        log_in(page, server.url)
        page.goto(f'{server.url}/events')
        box = page.get_by_placeholder(re.compile('Search messages'))
        box.click()
        box.press_sequentially('tim')  # the first token: words from the index, most common first
        suggestions = page.locator('.q-menu .q-item')
        suggestions.filter(has_text='timeout').wait_for()
        choose(page, box, 'timeout')
        page.wait_for_function("document.activeElement.value === 'timeout '")
        box.press_sequentially('-lev')  # a second token, negated
        suggestions.filter(has_text='level:').wait_for()
        choose(page, box, 'level:')
        page.wait_for_function("document.activeElement.value === 'timeout -level:'")
        suggestions.filter(has_text='level:debug').wait_for()  # its values come at once
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / 'search-suggestions-light.png'))
        values = [t.split('\n')[0] for t in suggestions.all_inner_texts()]
        assert values.index('level:error') < values.index('level:debug')  # ranked by count in range
        assert values[1] == 'level:debug'
        choose(page, box, 'level:debug')
        page.wait_for_function("document.activeElement.value === 'timeout -level:debug '")
        box.press('Enter')  # nothing highlighted: search
        page.wait_for_url(re.compile(r'not=level%3Adebug'))
        page.locator('td', has_text='timeout talking to redis').first.wait_for()
        assert page.locator('td', has_text='timer fired').count() == 0
        page.locator('.q-btn', has=page.locator('i', has_text='help_outline')).click()
        page.get_by_text('a leading minus excludes', exact=False).wait_for()
        page.locator('.q-btn', has=page.locator('i', has_text='dark_mode')).click()
        page.wait_for_function("document.body.classList.contains('body--dark')")
        page.screenshot(path=str(ARTIFACTS / 'search-help-dark.png'))
        assert page.js_errors == []
