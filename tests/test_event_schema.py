"""Validation and normalisation of events (docs/protocol.md), driven by case tables."""

from datetime import UTC, datetime

import pytest

from pulsekit.errors import InvalidField
from pulsekit.events.schema import MAX_FRAMES, MAX_MESSAGE_CHARS, normalize_batch, normalize_event

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)

INVALID = [
    ({'level': 'verbose'}, 'level'),
    ({'level': 3}, 'level'),
    ({'type': 'has space'}, 'type'),
    ({'type': 'x' * 101}, 'type'),
    ({'id': 'not-a-uuid'}, 'id'),
    ({'message': 42}, 'message'),
    ({'metadata': [1, 2]}, 'metadata'),
    ({'metadata': {'blob': 'x' * 70_000}}, 'metadata'),
    ({'tags': {'bad key': 'v'}}, 'tags.bad key'),
    ({'tags': {'k': {'nested': 1}}}, 'tags.k'),
    ({'tags': {'k': 'v' * 201}}, 'tags.k'),
    ({'tags': {f't{i}': 'v' for i in range(51)}}, 'tags'),
    ({'environment': 'prod/eu'}, 'environment'),
    ({'release': ''}, 'release'),
    ({'timestamp': '2026-11-26T07:00:00'}, 'timestamp'),
    ({'timestamp': 'yesterday'}, 'timestamp'),
    ({'timestamp': True}, 'timestamp'),
    ({'exception': {'value': 'no type'}}, 'exception.type'),
    ({'exception': {'type': 'E', 'chain': [{'value': 'x'}]}}, 'exception.chain[0].type'),
    ({'exception': {'type': 'E', 'extra': 1}}, 'exception.extra'),
    ({'stacktrace': {'frames': 'nope'}}, 'stacktrace'),
    ({'stacktrace': {'frames': [{'lineno': -1}]}}, 'stacktrace.frames[0].lineno'),
    ({'stacktrace': {'frames': [{'in_app': 'yes'}]}}, 'stacktrace.frames[0].in_app'),
    ({'fingerprint': []}, 'fingerprint'),
    ({'fingerprint': ['ok', 3]}, 'fingerprint[1]'),
    ({'user': {'name': 'x'}}, 'user.name'),
    ({'mesage': 'typo'}, 'mesage'),
]


@pytest.mark.parametrize(('event', 'field'), INVALID)
def test_invalid_event_is_refused_with_the_path_of_the_bad_field(event, field):
    with pytest.raises(InvalidField) as info:
        normalize_event(event, NOW)
    assert info.value.field == field


DEFAULTS = [
    ({}, {'type': 'message', 'level': 'info'}),
    ({'exception': {'type': 'ValueError'}}, {'type': 'error', 'level': 'error'}),
    ({'level': 'fatal'}, {'type': 'error', 'level': 'fatal'}),
    ({'level': 'WARN'}, {'level': 'warning'}),
    ({'level': 'critical'}, {'level': 'fatal'}),
    ({'type': 'payment.success', 'level': 'info'}, {'type': 'payment.success'}),
    ({'tags': {'n': 3, 'ok': True}}, {'tags': {'n': '3', 'ok': 'true'}}),
    ({'user': {'id': 42}}, {'user': {'id': '42'}}),
    ({'timestamp': '2026-11-26T08:00:00+01:00'}, {'timestamp': NOW_MS - 5 * 3600 * 1000}),
    ({'timestamp': 1795000000.5}, {'timestamp': 1795000000500}),
    ({'timestamp': '2027-01-01T00:00:00Z'}, {'timestamp': NOW_MS}),  # in the future: time of receipt
    ({}, {'timestamp': NOW_MS, 'received_at': NOW_MS}),
]


@pytest.mark.parametrize(('event', 'expected'), DEFAULTS)
def test_defaults_and_normalisation(event, expected):
    normalized = normalize_event(event, NOW)
    assert {k: normalized[k] for k in expected} == expected


def test_client_id_is_kept_and_missing_id_is_generated():
    given = normalize_event({'id': '5B0F2A4E7D0C4D559A8F5D1C2B3A4E5F'}, NOW)
    assert str(given['id']) == '5b0f2a4e-7d0c-4d55-9a8f-5d1c2b3a4e5f'
    assert normalize_event({}, NOW)['id'] != normalize_event({}, NOW)['id']


def test_long_text_is_truncated_not_refused():
    normalized = normalize_event({'message': 'x' * 20_000, 'exception': {'type': 'E', 'value': 'y' * 20_000}}, NOW)
    assert len(normalized['message']) == MAX_MESSAGE_CHARS
    assert len(normalized['exception']['value']) == MAX_MESSAGE_CHARS


def test_long_stacktrace_keeps_the_frames_closest_to_the_failure():
    frames = [{'function': f'f{i}'} for i in range(MAX_FRAMES + 50)]
    stacktrace = normalize_event({'stacktrace': {'frames': frames}}, NOW)['stacktrace']
    assert len(stacktrace['frames']) == MAX_FRAMES
    assert stacktrace['frames'][-1]['function'] == f'f{MAX_FRAMES + 49}'
    assert stacktrace['frames_omitted'] == 50


def test_batch_names_the_invalid_event():
    with pytest.raises(InvalidField) as info:
        normalize_batch({'events': [{}, {}, {}, {'level': 'nope'}]}, NOW, 1000)
    assert info.value.field == 'events[3].level'


@pytest.mark.parametrize('body', [{'events': []}, {'events': [{}] * 3}, [], {'events': {}}, {'events': [{}], 'x': 1}])
def test_batch_shape_is_checked(body):
    with pytest.raises(InvalidField):
        normalize_batch(body, NOW, 2)
