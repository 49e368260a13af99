"""Where Sentry SDKs put their key: X-Sentry-Auth, the sentry_key query parameter, the envelope's dsn."""

import pytest

from pulsekit.sentry.auth import find_sentry_key, parse_auth_header, parse_dsn

KEY = 'pk_6f1c0a1b2c3d4e5f'


@pytest.mark.parametrize(
    ('header', 'expected'),
    [
        (
            f'Sentry sentry_version=7, sentry_client=sentry.python/2.75.0, sentry_key={KEY}',
            {'sentry_version': '7', 'sentry_client': 'sentry.python/2.75.0', 'sentry_key': KEY},
        ),
        (f'Sentry sentry_key={KEY}, sentry_version=7', {'sentry_key': KEY, 'sentry_version': '7'}),
        (f'sentry sentry_key={KEY},sentry_secret=s', {'sentry_key': KEY, 'sentry_secret': 's'}),
        (f'Sentry sentry_key="{KEY}"', {'sentry_key': KEY}),
        (f'Sentry  Sentry_Key={KEY} ', {'sentry_key': KEY}),
        (f'sentry_key={KEY}', {'sentry_key': KEY}),
        ('Sentry garbage', {}),
        ('', {}),
        (None, {}),
    ],
)
def test_parse_auth_header(header, expected):
    assert parse_auth_header(header) == expected


@pytest.mark.parametrize(
    ('dsn', 'expected'),
    [
        (f'http://{KEY}@127.0.0.1:4000/3', (KEY, '3')),
        (f'https://{KEY}:secret@example.com/tracker/17', (KEY, '17')),
        (f'https://{KEY}@example.com/17/', (KEY, '17')),
        ('https://example.com/17', (None, '17')),
        ('', (None, None)),
        (None, (None, None)),
        (42, (None, None)),
    ],
)
def test_parse_dsn(dsn, expected):
    assert parse_dsn(dsn) == expected


CASES = [
    # (name, headers (lower-cased, as Starlette gives them), query, envelope header, expected key)
    ('x-sentry-auth header', {'x-sentry-auth': f'Sentry sentry_key={KEY}, sentry_version=7'}, {}, None, KEY),
    ('query parameter (browser SDKs)', {}, {'sentry_key': KEY, 'sentry_version': '7'}, None, KEY),
    ('envelope dsn', {}, {}, {'dsn': f'http://{KEY}@127.0.0.1:4000/3'}, KEY),
    ('legacy authorization: Sentry', {'authorization': f'Sentry sentry_key={KEY}'}, {}, None, KEY),
    ('native bearer', {'authorization': f'Bearer {KEY}'}, {}, None, KEY),
    ('native header', {'x-pulsekit-key': KEY}, {}, None, KEY),
    ('header wins over query', {'x-sentry-auth': f'Sentry sentry_key={KEY}'}, {'sentry_key': 'pk_other'}, None, KEY),
    ('query wins over dsn', {}, {'sentry_key': KEY}, {'dsn': 'http://pk_other@h/3'}, KEY),
    (
        'header without key falls back to dsn',
        {'x-sentry-auth': 'Sentry sentry_version=7'},
        {},
        {'dsn': f'http://{KEY}@h/3'},
        KEY,
    ),
    ('nothing', {}, {}, None, None),
    ('empty key', {'x-sentry-auth': 'Sentry sentry_key='}, {'sentry_key': ' '}, {}, None),
    ('dsn without key', {}, {}, {'dsn': 'http://h/3'}, None),
]


@pytest.mark.parametrize(('name', 'headers', 'query', 'envelope', 'expected'), CASES, ids=[c[0] for c in CASES])
def test_find_sentry_key(name, headers, query, envelope, expected):
    assert find_sentry_key(headers, query, envelope) == expected
