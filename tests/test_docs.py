"""Documentation that cannot drift: every setting read from the environment is documented."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_variable_is_documented():
    source = (ROOT / 'pulsekit' / 'config.py').read_text()
    variables = set(re.findall(r"'((?:PULSEKIT|DATABASE|SECRET)_[A-Z_]+)'", source))
    assert variables, 'no variables found: the pattern is out of date'
    documented = (ROOT / 'docs' / 'operations.md').read_text()
    missing = sorted(v for v in variables if f'`{v}`' not in documented)
    assert not missing, f'undocumented in docs/operations.md: {missing}'


def test_readme_opens_with_the_run_and_test_commands():
    readme = (ROOT / 'README.md').read_text()
    first_block = readme.split('```')[1]
    assert 'make run' in first_block and 'make test' in first_block
    assert 'make test' in (ROOT / '.ci' / 'run').read_text()
