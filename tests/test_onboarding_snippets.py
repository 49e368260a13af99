"""Each SDK's quickstart is shown verbatim where users copy it: the dashboard's tab, the top README, its README.

The quickstart files are what each SDK's own tests run against a live server, so a snippet that
drifts from them would be untested code handed to a new user.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsekit.onboarding import SNIPPETS

ROOT = Path(__file__).resolve().parents[1]
QUICKSTARTS = {  # dashboard tab id → the quickstart file the SDK's tests run
    'python': ROOT / 'sdks/python/quickstart/quickstart.py',  # run by tests/test_browser_projects.py
    'typescript': ROOT / 'sdks/typescript/quickstart/index.mjs',  # run by sdks/typescript's quickstart test
    'go': ROOT / 'sdks/go/quickstart/main.go',  # run by sdks/go's quickstart test
    'rust': ROOT / 'sdks/rust/quickstart/src/main.rs',  # run by sdks/rust's quickstart test
    'elixir': ROOT / 'sdks/elixir/quickstart/quickstart.exs',  # run by sdks/elixir's quickstart test
}


@pytest.mark.parametrize('sdk', sorted(QUICKSTARTS))
def test_the_dashboard_tab_shows_the_sdks_tested_quickstart_verbatim(sdk):
    tab = next(snippet for snippet in SNIPPETS if snippet.id == sdk)
    assert tab.code == QUICKSTARTS[sdk].read_text()


@pytest.mark.parametrize('sdk', sorted(QUICKSTARTS))
def test_the_top_readme_and_the_sdks_readme_show_the_tested_quickstart_verbatim(sdk):
    quickstart = QUICKSTARTS[sdk].read_text()
    assert quickstart in (ROOT / 'README.md').read_text()
    sdk_readme = ROOT / 'sdks' / QUICKSTARTS[sdk].relative_to(ROOT / 'sdks').parts[0] / 'README.md'
    assert quickstart in sdk_readme.read_text()


def test_every_sdk_tab_has_a_tested_quickstart():
    sdk_tabs = {snippet.id for snippet in SNIPPETS} - {'sentry', 'curl'}
    assert sdk_tabs == set(QUICKSTARTS)
