"""Documentation that cannot drift: every setting read from the environment is documented."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def configuration_variables() -> set[str]:
    source = (ROOT / 'pulsekit' / 'config.py').read_text()
    variables = set(re.findall(r"'((?:PULSEKIT|DATABASE|SECRET|PHX)_[A-Z_]+)'", source))
    assert {'SECRET_KEY_BASE', 'PULSEKIT_PORT', 'PHX_HOST'} <= variables, 'the pattern is out of date'
    return variables


def readme_docker_section() -> str:
    readme = (ROOT / 'README.md').read_text()
    return readme.split('\n## Run with Docker\n', 1)[1].split('\n## ', 1)[0]


@pytest.mark.parametrize(
    ('where', 'text'),
    [
        ('docs/operations.md', lambda: (ROOT / 'docs' / 'operations.md').read_text()),
        ('README.md, Run with Docker', readme_docker_section),
    ],
)
def test_every_environment_variable_is_documented(where, text):
    documented = text()
    missing = sorted(v for v in configuration_variables() if f'`{v}`' not in documented)
    assert not missing, f'undocumented in {where}: {missing}'


def test_run_with_docker_comes_right_before_development():
    headings = re.findall(r'^## (.+)$', (ROOT / 'README.md').read_text(), flags=re.MULTILINE)
    assert headings[headings.index('Development') - 1] == 'Run with Docker'


def test_readme_opens_with_the_run_and_test_commands():
    readme = (ROOT / 'README.md').read_text()
    first_block = readme.split('```')[1]
    assert 'make run' in first_block and 'make test' in first_block
    assert 'make test' in (ROOT / '.ci' / 'run').read_text()
