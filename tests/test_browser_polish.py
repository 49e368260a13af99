"""Polish seen in screenshots, checked in a real browser: readable metadata in dark mode, one
capitalisation style for buttons, counts in words, status badges as wide as their text."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from pulsekit.pages.components.plural import count_text

from .server import ServerProcess, create_project_and_key, pulsekit_cli
from .test_browser import ARTIFACTS, EMAIL, PASSWORD, browser, log_in, new_page  # noqa: F401  (fixture)


@pytest.mark.parametrize(
    ('count', 'word', 'text'), [(0, 'event', '0 events'), (1, 'event', '1 event'), (2000, 'issue', '2,000 issues')]
)
def test_counts_read_as_words(count, word, text):
    assert count_text(count, word) == text


def luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in css_color[css_color.index('(') + 1 : css_color.index(')')].split(',')[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_dark_metadata_sentence_case_buttons_and_singular_counts(tmp_path, browser):  # noqa: F811
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    _, key = create_project_and_key(data_dir, 'ingest')
    with ServerProcess(data_dir) as server:
        event_id = str(uuid.uuid4())
        event_tags = {'region': 'eu-west'}
        metadata = {'order': {'id': 991, 'total': 12.5, 'paid': False, 'coupon': None}, 'items': ['a', 'b']}
        event = {'id': event_id, 'type': 'error', 'level': 'error', 'message': 'card declined',
                 'exception': {'type': 'CardDeclined', 'value': 'card declined'}, 'metadata': metadata,
                 'tags': event_tags}  # fmt: skip
        reply = httpx.post(f'{server.url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key['key']})
        assert reply.status_code == 202
        page = new_page(browser)
        log_in(page, server.url)
        page.goto(f'{server.url}/events/{event_id}')
        page.get_by_text('All 1 event of this issue').wait_for()  # not "1 events"
        page.locator('.q-btn', has=page.locator('i', has_text='dark_mode')).click()
        page.wait_for_function("document.body.classList.contains('body--dark')")
        page.locator('.jse-main').wait_for()
        page.wait_for_timeout(300)
        background = page.evaluate("getComputedStyle(document.querySelector('.jse-contents')).backgroundColor")
        key_color = page.evaluate("getComputedStyle(document.querySelector('.jse-key')).color")
        assert luminance(background) < 0.2 and luminance(key_color) > 0.5, (background, key_color)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / 'event-metadata-dark.png'), full_page=True)

        page.get_by_text('region: eu-west').click()  # a tag chip: filter by, exclude, copy
        for entry in ('Filter by this tag', 'Exclude this tag', 'Copy region:eu-west'):
            page.get_by_text(entry).wait_for()
        page.get_by_text('Exclude this tag').click()
        page.wait_for_url(re.compile(r'/events\?.*not=region%3Aeu-west'))
        page.get_by_text('Nothing matches in this range.').wait_for()

        page.goto(f'{server.url}/projects')
        page.get_by_role('button', name='New project').wait_for()
        transforms = page.evaluate(
            "[...document.querySelectorAll('.q-btn')].map(b => getComputedStyle(b).textTransform)"
        )
        assert set(transforms) == {'none'}
        page.goto(f'{server.url}/events')
        page.get_by_text('1 event in this range').wait_for()
        assert page.js_errors == []
