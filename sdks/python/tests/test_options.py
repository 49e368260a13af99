"""DSN parsing and init() validation: a wrong configuration fails at init, with a message naming it."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import SDK_DIR

import pulsekit_sdk
from pulsekit_sdk import ConfigurationError, Options, parse_dsn


@pytest.mark.parametrize(
    ('dsn', 'endpoint', 'key', 'project'),
    [
        ('http://pk_abc@127.0.0.1:4000/1', 'http://127.0.0.1:4000', 'pk_abc', '1'),
        ('http://pk_abc@example.com:4000/tracker/3', 'http://example.com:4000/tracker', 'pk_abc', '3'),
        ('https://pk_abc@example.com/a/b/12/', 'https://example.com/a/b', 'pk_abc', '12'),
        ('http://pk_abc@[::1]:4000/7', 'http://[::1]:4000', 'pk_abc', '7'),
        ('http://pk_a%2Bb@localhost/2', 'http://localhost', 'pk_a+b', '2'),
    ],
)
def test_dsn_gives_endpoint_without_key_and_project(dsn, endpoint, key, project):
    parsed = parse_dsn(dsn)
    assert (parsed.endpoint, parsed.api_key, parsed.project) == (endpoint, key, project)


@pytest.mark.parametrize(
    ('dsn', 'complaint'),
    [
        ('', 'non-empty'),
        ('ftp://pk@host/1', 'http://'),
        ('http://127.0.0.1:4000/1', 'no API key'),
        ('http://pk@127.0.0.1:4000/', 'project number'),
        ('http://pk@127.0.0.1:4000/abc', 'project number'),
        ('http://pk@127.0.0.1:99999/1', 'port'),
    ],
)
def test_invalid_dsn_is_refused_with_the_reason(dsn, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        parse_dsn(dsn)


GOOD = {'endpoint': 'http://127.0.0.1:4000', 'api_key': 'pk_x'}


@pytest.mark.parametrize(
    ('options', 'complaint'),
    [
        ({**GOOD, 'enviroment': 'prod'}, "did you mean 'environment'"),
        ({**GOOD, 'sample_rate': 1.5}, 'sample_rate'),
        ({**GOOD, 'sample_rate': True}, 'sample_rate'),
        ({**GOOD, 'environment': 'prod/eu'}, 'environment'),
        ({**GOOD, 'environment': ''}, 'environment'),
        ({**GOOD, 'release': 'x' * 201}, 'release'),
        ({**GOOD, 'before_send': 'scrub'}, 'before_send'),
        ({**GOOD, 'transport': object()}, 'transport'),
        ({**GOOD, 'max_batch_size': 1001}, 'max_batch_size'),
        ({**GOOD, 'max_queue_size': 0}, 'max_queue_size'),
        ({**GOOD, 'timeout_s': -1}, 'timeout_s'),
        ({**GOOD, 'api_key': 'pk x'}, 'api_key'),
        ({'endpoint': 'http://127.0.0.1:4000', 'api_key': ''}, 'api_key'),
        ({'endpoint': '127.0.0.1:4000', 'api_key': 'pk_x'}, 'endpoint'),
        ({'dsn': 'http://pk@h/1', **GOOD}, 'not both'),
    ],
)
def test_init_refuses_options_that_cannot_work(options, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        pulsekit_sdk.init(**options)
    assert pulsekit_sdk.get_client() is None


def test_init_without_a_server_fails_unless_the_environment_names_one(monkeypatch):
    for name in ('PULSEKIT_DSN', 'PULSEKIT_ENDPOINT', 'PULSEKIT_API_KEY'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match='no server configured'):
        Options.build()

    monkeypatch.setenv('PULSEKIT_DSN', 'http://pk_env@127.0.0.1:4100/5')
    assert (Options.build().endpoint, Options.build().api_key) == ('http://127.0.0.1:4100', 'pk_env')

    monkeypatch.delenv('PULSEKIT_DSN')
    monkeypatch.setenv('PULSEKIT_ENDPOINT', 'http://127.0.0.1:4200/')
    monkeypatch.setenv('PULSEKIT_API_KEY', 'pk_env2')
    assert (Options.build().endpoint, Options.build().api_key) == ('http://127.0.0.1:4200', 'pk_env2')


def test_functions_called_before_init_do_nothing_and_do_not_raise():
    assert pulsekit_sdk.get_client() is None
    assert pulsekit_sdk.capture(type='x') is None
    assert pulsekit_sdk.capture_message('hello') is None
    assert pulsekit_sdk.capture_exception(ValueError('x')) is None
    assert pulsekit_sdk.flush(0.1) is True
    assert pulsekit_sdk.close() is True


def test_every_option_is_documented_in_the_readme():
    readme = (SDK_DIR / 'README.md').read_text(encoding='utf-8')
    documented = {line.split('`')[1] for line in readme.splitlines() if line.startswith('| `')}
    assert {field.name for field in dataclasses.fields(Options)} | {'dsn'} <= documented


def test_bad_arguments_after_init_are_logged_not_raised(global_client, server):
    global_client()
    pulsekit_sdk.set_tags('not a dict')
    pulsekit_sdk.set_user('bob')
    with pulsekit_sdk.scope(tags=['not', 'a', 'dict']) as scope:
        scope.set_user(42)
        assert pulsekit_sdk.capture(type='still sent', tags=None, metadata='a string') is not None
    assert pulsekit_sdk.capture_message('bad tags ignored', tags='x') is not None

    assert pulsekit_sdk.flush(5.0)
    first, second = server.events()
    assert (first['type'], first['metadata']) == ('still_sent', {'value': 'a string'})
    assert 'tags' not in first and 'user' not in first
    assert (second['message'], 'tags' in second) == ('bad tags ignored', False)
