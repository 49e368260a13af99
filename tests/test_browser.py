"""Browser journeys against a real `pulsekit serve` (Playwright driving Debian's chromium).

Screenshots of every page (1280×800, light and dark) are saved under artifacts/screenshots/.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import httpx
import playwright.sync_api as playwright_api
import pytest

from .dashboard import error_body
from .server import ServerProcess, create_project_and_key, pulsekit_cli

CHROMIUM = Path('/usr/bin/chromium')
ARTIFACTS = Path(__file__).resolve().parents[1] / 'artifacts' / 'screenshots'
EMAIL = 'admin@example.com'
PASSWORD = 'correct horse battery'
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'

assert CHROMIUM.exists(), 'Debian chromium is missing: run scripts/install-test-deps.sh'


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
        )  # fmt: skip
        yield b
        b.close()


def new_page(browser):
    context = browser.new_context(viewport={'width': 1280, 'height': 800})
    page = context.new_page()
    errors: list[str] = []
    page.on('pageerror', lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    _trace(page)
    return page


def _trace(page) -> None:
    """A timeline on stderr, which pytest shows only for a failing test: documents, slow or failed
    requests, console lines. `page.inflight` holds the requests not answered yet."""
    started = time.monotonic()
    page.inflight = {}

    def note(what: str) -> None:
        print(f'[browser {time.monotonic() - started:7.2f}s] {what}', file=sys.stderr)

    def finished(request, failure: str | None = None) -> None:
        took = time.monotonic() - page.inflight.pop(request, time.monotonic())
        if failure or took > 2:
            note(f'{request.method} {request.url} took {took:.1f}s{", failed: " + failure if failure else ""}')

    page.on('request', lambda r: page.inflight.__setitem__(r, time.monotonic()))
    page.on('requestfinished', finished)
    page.on('requestfailed', lambda r: finished(r, r.failure or 'failed'))
    page.on('response', lambda r: r.request.resource_type == 'document' and note(f'{r.status} {r.url}'))
    page.on('load', lambda _: note('load'))
    page.on('console', lambda msg: note(f'console {msg.type}: {msg.text}'))


def settle(page) -> None:
    """Waits until the page is loaded and its socket is up, so live updates reach it.

    Not 'networkidle' (500 ms with no request in flight): it once ran out its 30 s in CI
    with both server suites side by side, and a page whose WebSocket connect times out
    falls back to long polling (nicegui.js) and never goes idle at all.
    """
    page.wait_for_load_state('load')
    try:
        page.wait_for_function('window.did_handshake === true')
    except playwright_api.TimeoutError as exc:
        pending = [r.url for r in page.inflight]
        raise AssertionError(f'{page.url}: no socket handshake; in flight: {pending}') from exc


def log_in(page, url: str) -> None:
    page.goto(f'{url}/login')
    settle(page)  # the button's click travels over the socket: before the handshake it was lost in CI
    page.get_by_label('E-mail').fill(EMAIL)
    page.get_by_label('Password').fill(PASSWORD)
    page.get_by_role('button', name='Log in').click()
    page.wait_for_url(f'{url}/')


def error_event(message: str, **extra) -> dict:
    """An error with a failing in-app frame and source context, with a fresh id."""
    return error_body(message, **{'id': str(uuid.uuid4()), 'tags': {'region': 'eu-west'}, **extra})


def test_setup_login_live_event_detail_and_resolve(tmp_path, browser):
    data_dir = tmp_path / 'data'
    with ServerProcess(data_dir) as server:
        page = new_page(browser)
        page.goto(f'{server.url}/events')
        settle(page)
        page.get_by_label('Admin e-mail').fill(EMAIL)
        page.get_by_label('Password (8+ characters)').fill(PASSWORD)
        page.get_by_label('Repeat password').fill(PASSWORD)
        page.get_by_role('button', name='Create admin and continue').click()
        page.wait_for_url(f'{server.url}/events')
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.goto(f'{server.url}/')
        page.get_by_text('Welcome to PulseKit').wait_for()
        page.screenshot(path=str(ARTIFACTS / 'home-empty-light.png'))
        page.goto(f'{server.url}/logout')
        log_in(page, server.url)

        _, key = create_project_and_key(data_dir)
        page.goto(f'{server.url}/events')
        settle(page)  # the live row below comes over the socket
        page.get_by_text('No events yet').wait_for()
        page.screenshot(path=str(ARTIFACTS / 'events-empty-light.png'))
        event = error_event('division by zero in ratio')
        reply = httpx.post(f'{server.url}/api/v1/events', json=event, headers={'X-PulseKit-Key': key['key']})
        assert reply.status_code == 202
        row = page.locator('td', has_text='division by zero in ratio')
        row.wait_for(timeout=2000)  # live, without a reload

        row.click()
        page.wait_for_url(f'{server.url}/events/{event["id"]}')
        settle(page)
        failing = page.locator('.pk-src .hll')
        failing.first.wait_for()
        assert 'return a / b' in failing.first.inner_text()
        assert failing.first.is_visible()

        page.get_by_role('button', name='Open issue').click()
        page.wait_for_url(f'{server.url}/issues/*')
        settle(page)
        page.get_by_role('button', name='Resolve').click()
        page.get_by_text('resolved', exact=True).wait_for()
        assert page.js_errors == []

    # The session survives a restart (same data folder; cookies are per host, not per port).
    with ServerProcess(data_dir) as restarted:
        page.goto(f'{restarted.url}/issues?status=resolved')
        page.get_by_text('division by zero in ratio').first.wait_for()
        assert '/login' not in page.url


def test_hostile_text_renders_as_text_everywhere(tmp_path, browser):
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    _, key = create_project_and_key(data_dir)
    with ServerProcess(data_dir) as server:
        hostile = error_event(XSS, tags={'region': XSS[:150]}, metadata={'note': XSS, XSS[:60]: 1})
        hostile['stacktrace']['frames'][1]['context_line'] = f'    return "{XSS}"'
        hostile['stacktrace']['frames'][1]['function'] = XSS[:200]
        hostile['exception']['type'] = 'XSSError'
        reply = httpx.post(f'{server.url}/api/v1/events', json=hostile, headers={'X-PulseKit-Key': key['key']})
        assert reply.status_code == 202, reply.text
        page = new_page(browser)
        log_in(page, server.url)
        for path in ('/', '/events', f'/events/{hostile["id"]}', '/issues'):
            page.goto(server.url + path)
            settle(page)
            page.get_by_text('onerror', exact=False).first.wait_for()
            assert page.evaluate('window.__xss') is None, path
            assert page.locator('img[onerror]').count() == 0, path
            assert page.locator('script', has_text='__xss').count() == 0, path
        page.goto(server.url + '/issues')
        settle(page)  # a click before the socket's handshake twice led nowhere in CI (docs/notes.md)
        page.locator('a', has_text='onerror').first.click()
        page.wait_for_url(f'{server.url}/issues/*')
        page.get_by_text('Latest stacktrace').wait_for()
        assert page.evaluate('window.__xss') is None
        assert page.locator('img[onerror]').count() == 0
        assert page.js_errors == []


PAGES = ('/', '/events', '/issues', '/alerts', '/projects', '/settings')


def test_screenshots_of_every_page_light_and_dark(tmp_path, browser):
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    pulsekit_cli(data_dir, 'demo', '--events', '3000')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with ServerProcess(data_dir) as server:
        page = new_page(browser)
        page.goto(f'{server.url}/login')
        settle(page)
        page.screenshot(path=str(ARTIFACTS / 'login-light.png'))
        log_in(page, server.url)
        for theme in ('light', 'dark'):
            if theme == 'dark':
                page.goto(f'{server.url}/')
                page.locator('.q-btn', has=page.locator('i', has_text='dark_mode')).click()
                page.wait_for_function("document.body.classList.contains('body--dark')")
            for path in PAGES:
                page.goto(server.url + path)
                settle(page)
                page.wait_for_timeout(400)  # let charts finish their entry animation
                name = path.strip('/') or 'home'
                page.screenshot(path=str(ARTIFACTS / f'{name}-{theme}.png'))
            page.goto(f'{server.url}/issues')
            settle(page)
            page.locator('tbody tr a').first.click()
            page.wait_for_url(f'{server.url}/issues/*')
            settle(page)
            page.wait_for_timeout(400)
            page.screenshot(path=str(ARTIFACTS / f'issue-detail-{theme}.png'))
            page.get_by_text('Open the latest event →').click()
            page.wait_for_url(f'{server.url}/events/*')
            settle(page)
            page.screenshot(path=str(ARTIFACTS / f'event-detail-{theme}.png'), full_page=True)
        assert page.js_errors == []
    shots = sorted(p.name for p in ARTIFACTS.glob('*.png'))
    assert len(shots) >= 13
