"""The onboarding journey in a real browser against a real `pulsekit serve`: create a project, create a
key, copy the key out of a setup snippet, send an event with it over HTTP and watch it arrive live."""

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import playwright.sync_api as playwright

from pulsekit.onboarding import setup_snippets

from .server import ServerProcess, create_project_and_key, pulsekit_cli

CHROMIUM = '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run']
EMAIL, PASSWORD = 'admin@example.com', 'correct horse battery'
TIMEOUT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parents[1] / 'artifacts' / 'screenshots'


def test_created_key_copied_from_a_snippet_sends_an_event_that_appears_live(tmp_path):
    data_dir = tmp_path / 'data'
    pulsekit_cli(data_dir, 'user', 'create', EMAIL, '--admin', '--password-stdin', stdin=PASSWORD + '\n')
    with ServerProcess(data_dir) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={'width': 1280, 'height': 800})
        context.grant_permissions(['clipboard-read', 'clipboard-write'], origin=server.url)
        page = context.new_page()
        page_errors: list[str] = []
        page.on('pageerror', lambda exc: page_errors.append(str(exc)))
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f'{server.url}/login?redirect_to=/projects')
        page.get_by_label('E-mail').fill(EMAIL)
        page.get_by_label('Password').fill(PASSWORD)
        page.get_by_role('button', name='Log in').click()
        page.wait_for_url(f'{server.url}/projects')

        page.get_by_role('button', name='New project').click()
        page.get_by_label('Name').fill('Journey')
        page.get_by_role('button', name='Create project').click()
        page.wait_for_url(re.compile(r'.*/projects/\d+$'))
        project_id = int(page.url.rsplit('/', 1)[1])

        page.get_by_role('button', name='New key').click()
        page.get_by_role('button', name='Create key').click()
        page.get_by_text('it is shown only this once').wait_for()
        page.get_by_role('tab', name='curl').click()
        # The copy button of the curl snippet itself (during the tab switch another snippet is still visible).
        copy_curl = page.locator('.nicegui-code', has_text='curl -X POST').locator('.nicegui-code-copy')
        copied = ''
        for _ in range(3):  # the clipboard is written asynchronously: click, then wait for it, bounded
            copy_curl.click()
            for _ in range(20):
                copied = page.evaluate('navigator.clipboard.readText()')
                if 'X-PulseKit-Key' in copied:
                    break
                page.wait_for_timeout(100)
            if 'X-PulseKit-Key' in copied:
                break
        key = re.search(r'X-PulseKit-Key: (pk_[\w-]+)', copied).group(1)
        assert f'{server.url}/api/v1/events' in copied

        message = f'journey {uuid.uuid4().hex[:8]}'
        response = httpx.post(
            f'{server.url}/api/v1/events',
            json={'level': 'error', 'message': message},
            headers={'X-PulseKit-Key': key},
            timeout=10,
        )
        assert response.status_code == 202
        page.get_by_text(message).wait_for()  # pushed to the open page, no reload
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / 'project-detail-light.png'), full_page=True)
        page.goto(f'{server.url}/projects')
        page.get_by_text('journey', exact=True).wait_for()
        page.screenshot(path=str(ARTIFACTS / 'projects-light.png'))
        page.locator('.q-btn', has=page.locator('i', has_text='dark_mode')).click()
        page.wait_for_function("document.body.classList.contains('body--dark')")
        page.screenshot(path=str(ARTIFACTS / 'projects-dark.png'))
        page.goto(f'{server.url}/projects/{project_id}')
        page.get_by_text('Send your first events').wait_for()
        page.screenshot(path=str(ARTIFACTS / 'project-detail-dark.png'), full_page=True)
        assert page_errors == []

        stored = httpx.get(
            f'{server.url}/api/v1/events/{response.json()["id"]}', headers={'X-PulseKit-Key': read_key(data_dir)}
        )
        assert stored.json()['project_id'] == project_id
        browser.close()


def read_key(data_dir) -> str:
    """A read key for the project, made with the CLI (the server shares the database)."""
    out = pulsekit_cli(data_dir, 'key', 'create', '--project', 'journey', '--permissions', 'read', '--json')
    return json.loads(out.stdout)['key']


def test_the_python_and_curl_snippets_work_as_pasted(tmp_path):
    data_dir = tmp_path / 'data'
    with ServerProcess(data_dir) as server:
        project, key = create_project_and_key(data_dir, 'ingest,read')
        snippets = {s.id: s for s in setup_snippets(server.url, project['id'], key['key'])}
        script = tmp_path / 'app.py'
        script.write_text(snippets['python'].code)
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        curl = subprocess.run(['bash', '-c', snippets['curl'].code], capture_output=True, text=True, timeout=60)
        assert curl.returncode == 0 and '"id"' in curl.stdout, curl.stderr

        listed = httpx.get(f'{server.url}/api/v1/events', headers={'X-PulseKit-Key': key['key']}, timeout=10).json()
        messages = sorted(e['message'] for e in listed['events'])
        assert messages == ['Hello from Python', 'Hello from curl', 'division by zero']
