"""The `pulsekit` command as scripts use it: --json output, clear errors, non-zero exits."""

import json

import pytest

from .server import pulsekit_cli


def run_json(data_dir, *args):
    return json.loads(pulsekit_cli(data_dir, *args, '--json').stdout)


def test_project_key_and_user_commands_print_json(tmp_path):
    assert run_json(tmp_path, 'migrate')['version'] >= 2
    project = run_json(tmp_path, 'project', 'create', 'Web Shop')
    assert project == {'id': 1, 'name': 'Web Shop', 'slug': 'web-shop'}
    assert run_json(tmp_path, 'project', 'create', 'Web Shop')['slug'] == 'web-shop-2'

    key = run_json(
        tmp_path, 'key', 'create', '--project', 'web-shop', '--name', 'backend', '--permissions', 'read,ingest'
    )
    assert key['key'].startswith('pk_') and key['permissions'] == ['ingest', 'read']
    assert key['dsn'] == f'http://{key["key"]}@127.0.0.1:4000/1'
    listed = run_json(tmp_path, 'key', 'list', '--project', '1')['keys']
    assert listed == [{'id': key['id'], 'name': 'backend', 'prefix': key['prefix'], 'permissions': ['ingest', 'read'],
                       'revoked': False}]  # fmt: skip
    assert key['key'] not in pulsekit_cli(tmp_path, 'key', 'list', '--project', '1').stdout  # never shown again
    assert run_json(tmp_path, 'key', 'revoke', str(key['id'])) == {'id': key['id'], 'revoked': True}

    user = json.loads(
        pulsekit_cli(
            tmp_path,
            'user',
            'create',
            'Ada@Example.com',
            '--admin',
            '--password-stdin',
            '--json',
            stdin='correct horse battery\n',
        ).stdout
    )
    assert user == {'id': 1, 'email': 'ada@example.com', 'role': 'admin'}


@pytest.mark.parametrize(
    ('args', 'stdin', 'message'),
    [
        (['key', 'create', '--project', 'nope'], None, 'no project "nope"'),
        (['key', 'create', '--project', '1', '--permissions', 'write'], None, 'permissions must be'),
        (['key', 'revoke', '99'], None, 'no key 99'),
        (['project', 'create', '   '], None, 'name must not be empty'),
        (['user', 'create', 'not-an-email', '--password-stdin'], 'long enough pw\n', 'valid e-mail'),
        (['user', 'create', 'a@b.c', '--password-stdin'], 'short\n', 'at least 8 characters'),
        (['user', 'create', 'a@b.c'], '', 'pass --password-stdin'),
    ],
)
def test_failures_exit_non_zero_with_a_clear_message(tmp_path, args, stdin, message):
    pulsekit_cli(tmp_path, 'project', 'create', 'One')
    result = pulsekit_cli(tmp_path, *args, stdin=stdin, check=False)
    assert result.returncode == 1
    assert message in result.stderr and 'Traceback' not in result.stderr


def test_every_subcommand_has_help(tmp_path):
    for args in (
        ['serve'],
        ['migrate'],
        ['project', 'create'],
        ['key', 'create'],
        ['key', 'revoke'],
        ['user', 'create'],
        ['migrate-data'],
    ):
        result = pulsekit_cli(tmp_path, *args, '--help', check=False)
        assert result.returncode == 0 and 'usage: pulsekit' in result.stdout


def test_bad_environment_fails_with_the_variable_name(tmp_path, monkeypatch):
    monkeypatch.setenv('PULSEKIT_PORT', 'eighty')
    result = pulsekit_cli(tmp_path, 'migrate', check=False)
    assert result.returncode == 1 and 'PULSEKIT_PORT' in result.stderr
