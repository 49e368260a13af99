"""Sentry event → native event, per docs/protocol.md ("Sentry events")."""

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from pulsekit.events.schema import MAX_METADATA_BYTES, normalize_event
from pulsekit.sentry.envelope import parse_envelope, parse_event_payload
from pulsekit.sentry.mapping import format_logentry, map_sentry_event
from pulsekit.sentry.metadata import fit_metadata

FIXTURE = Path(__file__).parents[2] / 'benchmarks' / 'fixtures' / 'sentry-python-error.envelope'


def frame(function, **fields):
    return {'function': function, 'filename': f'app/{function}.py', 'lineno': 10, 'in_app': True, **fields}


CHAINED = {
    'event_id': 'fc6d8c0c43fc4630ad850ee518f1b9d0',
    'level': 'error',
    'exception': {
        'values': [
            {'type': 'KeyError', 'value': "'total'", 'stacktrace': {'frames': [frame('load')]}},
            {'type': 'LookupError', 'value': 'no total', 'module': 'builtins'},
            {
                'type': 'RuntimeError',
                'value': 'checkout failed',
                'module': 'shop.errors',
                'mechanism': {'type': 'generic', 'handled': False},
                'stacktrace': {'frames': [frame('handle'), frame('checkout')]},
            },
        ]
    },
}


def test_the_last_exception_value_is_primary_and_causes_are_chained_direct_cause_first():
    event = map_sentry_event(CHAINED)
    assert event['exception'] == {
        'type': 'RuntimeError',
        'value': 'checkout failed',
        'module': 'shop.errors',
        'chain': [
            {'type': 'LookupError', 'value': 'no total', 'module': 'builtins'},
            {'type': 'KeyError', 'value': "'total'", 'stacktrace': {'frames': [frame('load')]}},
        ],
    }
    assert [f['function'] for f in event['stacktrace']['frames']] == ['handle', 'checkout']
    assert event['id'] == 'fc6d8c0c43fc4630ad850ee518f1b9d0'
    assert event['type'] == 'error'
    assert event['message'] == 'checkout failed'  # no message: the exception's value, as native SDKs send
    assert event['metadata']['mechanism'] == {'type': 'generic', 'handled': False}


def test_a_long_chain_keeps_the_ten_nearest_causes():
    values = [{'type': f'E{i}', 'value': str(i)} for i in range(15)]
    event = map_sentry_event({'exception': {'values': values}})
    assert event['exception']['type'] == 'E14'
    assert [c['type'] for c in event['exception']['chain']] == [f'E{i}' for i in range(13, 3, -1)]


EXCEPTION_SHAPES = [
    ({'values': [{'type': 'ValueError', 'value': 'x'}]}, {'type': 'ValueError', 'value': 'x'}),
    ([{'type': 'ValueError', 'value': 'x'}], {'type': 'ValueError', 'value': 'x'}),  # bare list (old SDKs)
    ({'type': 'ValueError', 'value': 'x'}, {'type': 'ValueError', 'value': 'x'}),  # one value (raven)
    ({'values': [{'value': 'Non-Error thrown'}]}, {'type': 'Error', 'value': 'Non-Error thrown'}),
    ({'values': [{'type': 'T' * 300}]}, {'type': 'T' * 256}),
    ({'values': [{'type': 'E', 'value': 'v' * 9000, 'module': None}]}, {'type': 'E', 'value': 'v' * 8192}),
]


@pytest.mark.parametrize(('exception', 'expected'), EXCEPTION_SHAPES)
def test_exception_shapes(exception, expected):
    assert map_sentry_event({'exception': exception})['exception'] == expected


@pytest.mark.parametrize('exception', [None, {}, {'values': []}, {'values': None}, {'values': [{}]}, 'text'])
def test_no_usable_exception_means_none(exception):
    event = map_sentry_event({'exception': exception, 'message': 'm'})
    assert 'exception' not in event
    assert event['type'] == 'message'


FRAMES = [
    # (name, sentry frame, native frame)
    (
        'all fields',
        {
            'filename': 'app/billing.py',
            'abs_path': '/srv/app/billing.py',
            'function': 'ratio',
            'module': 'app.billing',
            'lineno': 40,
            'colno': 12,
            'in_app': True,
            'pre_context': ['def ratio(a, b):'],
            'context_line': '    return a / b',
            'post_context': [''],
            'vars': {'a': '1', 'b': '0'},
            'platform': 'python',
        },
        {
            'filename': 'app/billing.py',
            'abs_path': '/srv/app/billing.py',
            'function': 'ratio',
            'module': 'app.billing',
            'lineno': 40,
            'colno': 12,
            'in_app': True,
            'pre_context': ['def ratio(a, b):'],
            'context_line': '    return a / b',
            'post_context': [''],
        },
    ),
    (
        'abs_path only',
        {'abs_path': '/srv/a.js', 'function': '?'},
        {'abs_path': '/srv/a.js', 'filename': '/srv/a.js', 'function': '?'},
    ),
    ('nulls dropped', {'function': 'f', 'module': None, 'in_app': None, 'lineno': None}, {'function': 'f'}),
    ('bad numbers dropped', {'function': 'f', 'lineno': -1, 'colno': '3'}, {'function': 'f'}),
    ('bool is not a line number', {'function': 'f', 'lineno': True}, {'function': 'f'}),
    (
        'library frame',
        {'function': 'get', 'module': 'requests.api', 'in_app': False},
        {'function': 'get', 'module': 'requests.api', 'in_app': False},
    ),
    (
        'context lines clipped to ten nearest',
        {'function': 'f', 'pre_context': [str(i) for i in range(15)], 'post_context': [str(i) for i in range(15)]},
        {'function': 'f', 'pre_context': [str(i) for i in range(5, 15)], 'post_context': [str(i) for i in range(10)]},
    ),
    (
        'long strings truncated',
        {'function': 'f' * 300, 'filename': 'p' * 2000, 'context_line': 'c' * 2000, 'pre_context': ['x' * 2000, None]},
        {'function': 'f' * 256, 'filename': 'p' * 1024, 'context_line': 'c' * 1024, 'pre_context': ['x' * 1024, '']},
    ),
]


@pytest.mark.parametrize(('name', 'sentry_frame', 'expected'), FRAMES, ids=[c[0] for c in FRAMES])
def test_frames_map_field_by_field(name, sentry_frame, expected):
    event = map_sentry_event({'exception': {'values': [{'type': 'E', 'stacktrace': {'frames': [sentry_frame]}}]}})
    assert event['stacktrace']['frames'] == [expected]


def test_a_long_stacktrace_keeps_the_250_frames_nearest_the_failure():
    frames = [frame(f'f{i}') for i in range(300)]
    event = map_sentry_event({'exception': {'values': [{'type': 'E', 'stacktrace': {'frames': frames}}]}})
    names = [f['function'] for f in event['stacktrace']['frames']]
    assert len(names) == 250
    assert names[0] == 'f50'
    assert names[-1] == 'f299'


def test_message_event_with_attached_thread_stacktrace_keeps_the_frames():
    event = map_sentry_event(
        {
            'message': 'slow query',
            'level': 'warning',
            'threads': {'values': [{'id': 1, 'current': True, 'stacktrace': {'frames': [frame('run'), frame('q')]}}]},
        }
    )
    assert [f['function'] for f in event['stacktrace']['frames']] == ['run', 'q']


def test_exception_without_stacktrace_uses_its_thread():
    event = map_sentry_event(
        {
            'exception': {'values': [{'type': 'E', 'thread_id': 2}]},
            'threads': {
                'values': [
                    {'id': 1, 'current': True, 'stacktrace': {'frames': [frame('other')]}},
                    {'id': 2, 'crashed': True, 'stacktrace': {'frames': [frame('mine')]}},
                ]
            },
        }
    )
    assert [f['function'] for f in event['stacktrace']['frames']] == ['mine']


MESSAGES = [
    ('plain message', {'message': 'hello'}, 'hello'),
    ('logentry formatted', {'logentry': {'message': 'x %s', 'params': ['1'], 'formatted': 'x 1'}}, 'x 1'),
    (
        'logentry template and params',
        {'logentry': {'message': 'user %s paid %d', 'params': ['bob', 3]}},
        'user bob paid 3',
    ),
    ('logentry named params', {'logentry': {'message': '%(who)s left', 'params': {'who': 'ann'}}}, 'ann left'),
    ('logentry without params', {'logentry': {'message': '100% done'}}, '100% done'),
    ('message as a logentry (old SDKs)', {'message': {'message': 'a %s', 'params': ['b']}}, 'a b'),
    ('message as a formatted object', {'message': {'formatted': 'ready'}}, 'ready'),
    ('logentry wins over message', {'logentry': {'formatted': 'from logentry'}, 'message': 'plain'}, 'from logentry'),
    ('too few params: the template', {'logentry': {'message': '%s and %s', 'params': ['one']}}, '%s and %s'),
    ('legacy interface name', {'sentry.interfaces.Message': {'message': 'legacy'}}, 'legacy'),
    ('long message truncated', {'message': 'm' * 9000}, 'm' * 8192),
]


@pytest.mark.parametrize(('name', 'sentry', 'expected'), MESSAGES, ids=[c[0] for c in MESSAGES])
def test_message(name, sentry, expected):
    assert map_sentry_event(sentry)['message'] == expected


@pytest.mark.parametrize(
    ('template', 'params', 'expected'),
    [
        ('%s%%', [5], '5%'),
        ('%r', ['x'], 'x'),
        ('%s', [{'a': 1}], '{"a":1}'),
        ('%.2f', [1.5], '1.5'),
        ('%(a)s %(b)s', {'a': 1}, '%(a)s %(b)s'),
        ('{} is js style', ['x'], '{} is js style'),
    ],
)
def test_format_logentry(template, params, expected):
    assert format_logentry(template, params) == expected


LEVELS = [
    ('debug', False, 'debug'),
    ('INFO', False, 'info'),
    ('log', False, 'info'),
    ('warn', False, 'warning'),
    ('warning', False, 'warning'),
    ('error', False, 'error'),
    ('critical', False, 'fatal'),
    ('fatal', True, 'fatal'),
    (None, True, 'error'),
    (None, False, 'info'),
    ('verbose', True, 'error'),
    ('verbose', False, 'info'),
]


@pytest.mark.parametrize(('level', 'has_exception', 'expected'), LEVELS)
def test_level(level, has_exception, expected):
    sentry = {'level': level, 'message': 'm'}
    if has_exception:
        sentry['exception'] = {'values': [{'type': 'E'}]}
    assert map_sentry_event(sentry)['level'] == expected


@pytest.mark.parametrize(
    ('sentry', 'expected'),
    [
        ({'exception': {'values': [{'type': 'E'}]}, 'level': 'warning'}, 'error'),
        ({'message': 'm', 'level': 'error'}, 'error'),
        ({'message': 'm', 'level': 'fatal'}, 'error'),
        ({'message': 'm', 'level': 'info'}, 'message'),
        ({'message': 'm'}, 'message'),
    ],
)
def test_type_is_error_for_exceptions_and_error_levels(sentry, expected):
    assert map_sentry_event(sentry)['type'] == expected


TAGS = [
    ('object', {'region': 'eu', 'tier': 'gold'}, {'region': 'eu', 'tier': 'gold'}),
    ('list of pairs', [['region', 'eu'], ['tier', 'gold']], {'region': 'eu', 'tier': 'gold'}),
    ('numbers and booleans', {'n': 3, 'f': 1.5, 'b': True}, {'n': '3', 'f': '1.5', 'b': 'true'}),
    ('nulls and objects skipped', {'a': None, 'b': {'x': 1}, 'c': 'kept'}, {'c': 'kept'}),
    (
        'bad key chars replaced',
        {'http.url/path': 'x', 'a b': 'y', 'ünï': 'z'},
        {'http.url_path': 'x', 'a_b': 'y', '_n_': 'z'},
    ),
    ('long key and value clipped', {'k' * 100: 'v' * 300}, {'k' * 64: 'v' * 200}),
    ('newlines in values', {'k': 'a\nb'}, {'k': 'a b'}),
    ('first duplicate wins', [['k', '1'], ['k', '2']], {'k': '1'}),
    ('malformed pairs skipped', [['k'], 'x', ['a', 'b', 'c'], ['ok', '1']], {'ok': '1'}),
    ('empty key skipped', {'': 'x', '  ': 'y'}, {}),
    ('not tags', 'region:eu', {}),
]


@pytest.mark.parametrize(('name', 'tags', 'expected'), TAGS, ids=[c[0] for c in TAGS])
def test_tags(name, tags, expected):
    assert map_sentry_event({'message': 'm', 'tags': tags}).get('tags', {}) == expected


def test_tags_beyond_fifty_go_to_metadata():
    event = map_sentry_event({'message': 'm', 'tags': {f't{i:02}': str(i) for i in range(60)}})
    assert list(event['tags']) == [f't{i:02}' for i in range(50)]
    assert event['metadata']['dropped_tags'] == {f't{i}': str(i) for i in range(50, 60)}


def test_user_standard_fields_native_and_the_rest_in_metadata():
    sentry = {
        'message': 'm',
        'user': {'id': 42, 'email': 'ada@example.com', 'username': 'ada', 'name': 'Ada', 'geo': {'city': 'London'}},
    }
    event = map_sentry_event(sentry)
    assert event['user'] == {'id': '42', 'email': 'ada@example.com', 'username': 'ada'}
    assert event['metadata']['user'] == {'name': 'Ada', 'geo': {'city': 'London'}}


@pytest.mark.parametrize(
    ('ip', 'client_ip', 'expected'),
    [
        ('{{auto}}', '203.0.113.9', '203.0.113.9'),
        ('{{auto}}', None, None),
        ('198.51.100.1', '203.0.113.9', '198.51.100.1'),
    ],
)
def test_user_ip_auto_is_the_senders_address(ip, client_ip, expected):
    event = map_sentry_event({'message': 'm', 'user': {'ip_address': ip}}, client_ip=client_ip)
    assert event.get('user', {}).get('ip_address') == expected


FINGERPRINTS = [
    ('default kept', ['{{ default }}', 'tenant-7'], ['{{ default }}', 'tenant-7']),
    ('default without spaces', ['{{default}}', 'x'], ['{{ default }}', 'x']),
    ('numbers become strings', ['code', 503], ['code', '503']),
    ('nulls skipped', [None, 'a'], ['a']),
    ('empty', [], None),
    ('not a list', '{{ default }}', None),
]


@pytest.mark.parametrize(('name', 'fingerprint', 'expected'), FINGERPRINTS, ids=[c[0] for c in FINGERPRINTS])
def test_fingerprint(name, fingerprint, expected):
    assert map_sentry_event({'message': 'm', 'fingerprint': fingerprint}).get('fingerprint') == expected


def test_fingerprint_over_native_limits_stays_distinct():
    long_a = map_sentry_event({'message': 'm', 'fingerprint': ['x' * 300 + 'a']})['fingerprint']
    long_b = map_sentry_event({'message': 'm', 'fingerprint': ['x' * 300 + 'b']})['fingerprint']
    assert long_a != long_b
    assert all(len(part) <= 200 for part in long_a + long_b)
    many_a = map_sentry_event({'message': 'm', 'fingerprint': [str(i) for i in range(12)]})['fingerprint']
    many_b = map_sentry_event({'message': 'm', 'fingerprint': [str(i) for i in range(11)] + ['x']})['fingerprint']
    assert len(many_a) == 10
    assert many_a[:9] == [str(i) for i in range(9)]
    assert many_a != many_b


@pytest.mark.parametrize(
    ('field', 'value', 'expected'),
    [
        ('environment', 'production', 'production'),
        ('environment', 'staging/eu', 'staging-eu'),
        ('environment', 'e' * 100, 'e' * 64),
        ('environment', '', None),
        ('release', 'shop@2.4.1', 'shop@2.4.1'),
        ('release', 'shop@2.4.1\n', 'shop@2.4.1'),
        ('release', 'r' * 250, 'r' * 200),
        ('release', 7, '7'),
        ('release', None, None),
    ],
)
def test_environment_and_release(field, value, expected):
    assert map_sentry_event({'message': 'm', field: value}).get(field) == expected


@pytest.mark.parametrize(
    ('timestamp', 'expected'),
    [
        (1764140400.123, 1764140400.123),  # JavaScript SDKs: epoch seconds
        ('2026-11-26T07:00:00.123456Z', '2026-11-26T07:00:00.123Z'),
        ('2026-11-26T07:00:00.5', '2026-11-26T07:00:00.500Z'),  # no offset: UTC, as Sentry reads it
        ('2026-11-26T08:00:00+01:00', '2026-11-26T07:00:00.000Z'),
        ('yesterday', None),
        (-5, None),
        (None, None),
    ],
)
def test_timestamp(timestamp, expected):
    assert map_sentry_event({'message': 'm', 'timestamp': timestamp}).get('timestamp') == expected


@pytest.mark.parametrize(
    ('payload_id', 'header_id', 'expected'),
    [
        ('fc6d8c0c43fc4630ad850ee518f1b9d0', None, 'fc6d8c0c43fc4630ad850ee518f1b9d0'),
        (None, 'fc6d8c0c43fc4630ad850ee518f1b9d0', 'fc6d8c0c43fc4630ad850ee518f1b9d0'),
        ('fc6d8c0c-43fc-4630-ad85-0ee518f1b9d0', None, 'fc6d8c0c-43fc-4630-ad85-0ee518f1b9d0'),
        ('not-an-id', None, None),
    ],
)
def test_event_id(payload_id, header_id, expected):
    assert map_sentry_event({'message': 'm', 'event_id': payload_id}, event_id=header_id).get('id') == expected


def test_contexts_request_breadcrumbs_extra_sdk_platform_go_to_metadata():
    sentry = {
        'message': 'm',
        'platform': 'node',
        'sdk': {'name': 'sentry.javascript.node', 'version': '11.12.0'},
        'contexts': {'os': {'name': 'Linux'}, 'runtime': {'name': 'node', 'version': 'v20.20.2'}},
        'request': {'method': 'POST', 'url': 'http://shop/checkout', 'headers': {'User-Agent': 'x'}},
        'breadcrumbs': {'values': [{'message': 'clicked', 'category': 'ui'}]},
        'extra': {'cart_id': 7},
        'server_name': 'web-1',
        'logger': 'shop.checkout',
        'transaction': 'POST /checkout',
        'modules': {'fastapi': '0.165.0'},
    }
    metadata = map_sentry_event(sentry)['metadata']
    for name in ('platform', 'sdk', 'contexts', 'request', 'extra', 'server_name', 'logger', 'transaction', 'modules'):
        assert metadata[name] == sentry[name]
    assert metadata['breadcrumbs'] == [{'message': 'clicked', 'category': 'ui'}]


def test_breadcrumbs_as_a_list_keep_the_newest_hundred():
    crumbs = [{'message': str(i)} for i in range(150)]
    metadata = map_sentry_event({'message': 'm', 'breadcrumbs': crumbs})['metadata']
    assert [c['message'] for c in metadata['breadcrumbs']] == [str(i) for i in range(50, 150)]


def test_oversized_metadata_is_cut_to_fit_and_says_what_was_cut():
    sentry = {
        'message': 'm',
        'modules': {f'package{i}': '1.0' for i in range(3000)},
        'breadcrumbs': [{'message': 'b' * 1000} for _ in range(100)],
        'extra': {f'k{i}': 'x' * 8000 for i in range(20)},
        'sdk': {'name': 'sentry.python'},
    }
    metadata = map_sentry_event(sentry)['metadata']
    assert len(orjson.dumps(metadata)) <= MAX_METADATA_BYTES
    assert metadata['sdk'] == {'name': 'sentry.python'}  # small entries survive
    assert metadata['truncated'][:2] == ['modules', 'breadcrumbs']
    assert 'extra' in metadata['truncated']


def test_metadata_depth_strings_and_numbers_are_clipped():
    deep: dict = {'leaf': 1}
    for _ in range(15):
        deep = {'d': deep}
    metadata = fit_metadata({'extra': {'deep': deep, 's': 'x' * 10_000, 'big': 2**70, 'nan': float('nan')}})

    def depth(value, level=1):
        if isinstance(value, dict):
            return max([depth(v, level + 1) for v in value.values()], default=level)
        return level

    assert depth(metadata) <= 10
    assert len(metadata['extra']['s']) == 8192
    assert metadata['extra']['big'] == str(2**70)
    assert metadata['extra']['nan'] is None
    orjson.dumps(metadata)


def test_captured_sentry_python_event_maps_completely():
    envelope = parse_envelope(FIXTURE.read_bytes())
    event = map_sentry_event(parse_event_payload(envelope.items[0].payload))
    assert event['type'] == 'error'
    assert event['level'] == 'error'
    assert event['exception']['type'] == 'RuntimeError'
    assert [c['type'] for c in event['exception']['chain']] == ['LookupError', 'KeyError']
    assert [f['function'] for f in event['stacktrace']['frames']] == [
        'main',
        'handle_request',
        'dispatch',
        'checkout_view',
        'checkout',
    ]
    assert all(f['in_app'] for f in event['stacktrace']['frames'])
    assert event['tags'] == {'region': 'apac', 'customer_tier': 'gold'}
    assert event['user'] == {'id': '42', 'email': 'ada@example.com', 'username': 'ada'}
    assert event['release'] == 'shop@2.4.1'
    assert event['environment'] == 'production'
    assert event['metadata']['platform'] == 'python'
    assert event['metadata']['sdk']['name'].startswith('sentry.python')
    assert len(event['metadata']['breadcrumbs']) == 28


def test_a_javascript_capture_message_stack_is_a_message_with_frames_not_an_error():
    sentry = {
        'level': 'warning',
        'message': 'cart abandoned',
        'exception': {
            'values': [
                {
                    'value': 'cart abandoned',
                    'mechanism': {'type': 'generic', 'handled': True, 'synthetic': True},
                    'stacktrace': {'frames': [frame('main'), frame('notify')]},
                }
            ]
        },
    }
    event = map_sentry_event(sentry)
    assert 'exception' not in event
    assert event['type'] == 'message'
    assert event['level'] == 'warning'
    assert event['message'] == 'cart abandoned'
    assert [f['function'] for f in event['stacktrace']['frames']] == ['main', 'notify']


def test_a_synthetic_exception_with_a_type_stays_an_exception():
    sentry = {'exception': {'values': [{'type': 'SIGSEGV', 'mechanism': {'type': 'signal', 'synthetic': True}}]}}
    assert map_sentry_event(sentry)['exception']['type'] == 'SIGSEGV'


def _sentry_cases() -> list[dict]:
    """Every Sentry input of the tables above, plus some nastier ones."""
    deep: dict = {'leaf': 1}
    for _ in range(20):
        deep = {'d': [deep]}
    cases = [CHAINED, parse_event_payload(parse_envelope(FIXTURE.read_bytes()).items[0].payload)]
    cases += [{'exception': exception} for exception, _ in EXCEPTION_SHAPES]
    cases += [{'exception': {'values': [{'type': 'E', 'stacktrace': {'frames': [f]}}]}} for _, f, _ in FRAMES]
    cases += [sentry for _, sentry, _ in MESSAGES]
    cases += [{'message': 'm', 'level': level} for level, _, _ in LEVELS]
    cases += [{'message': 'm', 'tags': tags} for _, tags, _ in TAGS]
    cases += [{'message': 'm', 'tags': {f'k{i}' * 30: 'v\x00' * 150 for i in range(80)}}]
    cases += [{'message': 'm', 'fingerprint': fingerprint} for _, fingerprint, _ in FINGERPRINTS]
    cases += [{'message': 'm', 'fingerprint': ['x' * 500] * 30}]
    cases += [{'message': 'm', 'environment': 'a/b\n' * 40, 'release': '\t' + 'r' * 300}]
    cases += [{'message': 'm', 'timestamp': t} for t in (1e20, 0, '2026-11-26', '9999-12-31T23:59:59Z', True)]
    cases += [{'message': 'm', 'user': {'id': 10**30, 'email': 'e' * 300, 'ip_address': '{{auto}}', 'name': 'n'}}]
    cases += [{'message': 'm', 'extra': {'deep': deep, 'big': 2**80, 'nan': float('inf')}, 'contexts': deep}]
    cases += [{'message': 'm', 'extra': {f'k{i}': 'é' * 8000 for i in range(50)}, 'breadcrumbs': [{'m': 'x'}] * 500}]
    cases += [{'event_id': 'nope', 'level': 7, 'message': 12, 'tags': 3, 'user': 'u', 'exception': {'values': 'x'}}]
    return cases


@pytest.mark.parametrize('sentry', _sentry_cases())
def test_every_mapped_event_passes_native_validation(sentry):
    native = map_sentry_event(sentry, client_ip='203.0.113.9')
    normalized = normalize_event(native, datetime.now(UTC))  # raises InvalidField on any violation
    assert normalized['type'] in ('error', 'message')
