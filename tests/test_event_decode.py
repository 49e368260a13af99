"""The fast decoder of native bodies (events/decode.py) against the protocol's definition (events/schema.py).

The property: whatever the compiled pass accepts, schema accepts too and normalises to the same
event, byte for byte once stored; whatever it refuses falls back to schema, so the public
functions answer exactly what schema answers. Checked on realistic events and on a few thousand
seeded random mutations of them.
"""

import copy
import json
import random
import uuid
from datetime import UTC, datetime

import msgspec
import orjson
import pytest

from pulsekit.errors import InvalidField, InvalidJson
from pulsekit.events import decode
from pulsekit.events.schema import normalize_batch, normalize_event

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
FRAME = {
    'filename': 'shop/cart.py', 'abs_path': '/srv/shop/cart.py', 'function': 'total', 'module': 'shop.cart',
    'lineno': 42, 'colno': 7, 'in_app': True, 'context_line': '    return a / b',
    'pre_context': ['def total(a, b):'], 'post_context': ['', '# end'], 'vars': {'ignored': True},
}  # fmt: skip
RICH = {
    'id': '0b9d6c2e-6a52-4f4e-9a0e-8c1d2b3a4f5e',
    'type': 'error',
    'level': 'Warn',
    'message': 'ZeroDivisionError: division by zero',
    'exception': {
        'type': 'ZeroDivisionError',
        'value': 'division by zero',
        'module': 'builtins',
        'chain': [{'type': 'KeyError', 'value': "'price'", 'stacktrace': {'frames': [FRAME]}}],
    },
    'stacktrace': {'frames': [{'filename': 'lib/x.py', 'in_app': False}, FRAME], 'other': 1},
    'metadata': {'order': {'id': 562960, 'big': 123456789012345678901234567890, 'ratio': 0.5}, 'list': [1, 'a']},
    'environment': 'staging',
    'release': 'shop@2.5.4',
    'tags': {'region': 'eu-west-1', 'retries': 3, 'ratio': 1.5, 'beta': True},
    'timestamp': '2026-11-26T11:59:00.500Z',
    'fingerprint': ['{{ default }}', 'checkout'],
    'user': {'email': 'a@example.com', 'id': 7},
}
CORPUS = [
    RICH,
    {'type': 'page.view', 'message': 'hello'},
    {'exception': {'type': 'E'}},
    {'level': 'fatal', 'timestamp': 1764158340.25, 'tags': {}, 'metadata': None, 'user': None},
    {'message': '', 'exception': {'type': 'E', 'value': '', 'chain': [], 'stacktrace': {'anything': [1]}}},
    {'stacktrace': {'frames': []}, 'id': None, 'release': None},
]
JUNK = [
    None, True, False, 0, -1, 2**63, 2**64, 1.5, float('1e300'), '', 'x', 'a\nb', 'a/b', '\x00', 'naïve ☃',
    'x' * 101, 'x' * 300, 'x' * 1100, 'x' * 9000, [], [1], ['a'] * 12, {}, {'type': 'E'}, {'frames': []},
    {'x': {'y': {'z': 1}}},
]  # fmt: skip


def slow(body: bytes):
    """schema's answer: the event, or the error it raises."""
    try:
        return normalize_event(decode.parse_json(body), NOW)
    except (InvalidField, InvalidJson) as exc:
        return (type(exc).__name__, exc.message, exc.field)


def public(body: bytes):
    try:
        return decode.decode_event(body, NOW)
    except (InvalidField, InvalidJson) as exc:
        return (type(exc).__name__, exc.message, exc.field)


def compiled(body: bytes) -> dict | None:
    """The compiled pass alone, no fallback: None when it refuses."""
    try:
        return decode._normalized(decode._event_decoder.decode(body), NOW)
    except (msgspec.DecodeError, msgspec.ValidationError, InvalidField, InvalidJson, ValueError):
        return None


def same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        a, b = dict(a), dict(b)
        if isinstance(a['id'], uuid.UUID) and isinstance(b['id'], uuid.UUID):
            a.pop('id'), b.pop('id')  # random when the body has none
        return orjson.dumps(a) == orjson.dumps(b)  # what the writer stores, key order included
    return a == b


@pytest.mark.parametrize('event', CORPUS)
def test_valid_events_take_the_compiled_pass_and_match_schema(event):
    body = json.dumps(event).encode()
    fast = compiled(body)
    assert fast is not None, 'the compiled pass refused a valid event'
    assert same(fast, slow(body))


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


def _mutated(rng: random.Random) -> bytes:
    event = copy.deepcopy(RICH)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice([p for p in _paths(event) if p])
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.25 and isinstance(parent, dict):
            key = rng.choice(['extra', 'chain', 'stacktrace', 'frames', 'id', 'type'])
            parent[key] = copy.deepcopy(rng.choice(JUNK))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(JUNK))
    return json.dumps(event, ensure_ascii=rng.random() < 0.5).encode()


def test_mutated_events_get_exactly_what_schema_answers():
    rng = random.Random(20261126)
    taken = 0
    for _ in range(3000):
        body = _mutated(rng)
        expected = slow(body)
        fast = compiled(body)
        if fast is not None:
            taken += 1
            assert isinstance(expected, dict) and same(fast, expected), body
        assert same(public(body), expected), body
    assert taken > 300  # the property was exercised on accepted events, not only on refusals


@pytest.mark.parametrize(
    'body',
    [b'', b'{', b'[]', b'"x"', b'null', b'{"message": "\\ud800"}', b'\xef\xbb\xbf{}', b'{"message": "\xff"}',
     b'{"message": 1e400}', b'{"a": 1}', b'{"message": "x"} trailing', b' {"message": "x"} '],
)  # fmt: skip
def test_malformed_bodies_get_schemas_errors(body):
    assert same(public(body), slow(body))


def test_batches_match_schema_and_refuse_as_a_whole():
    good = orjson.dumps({'events': [{'message': 'a'}, {'exception': {'type': 'E'}}]})
    events = decode.decode_batch(good, NOW, 10)
    assert [same(a, b) for a, b in zip(events, normalize_batch(orjson.loads(good), NOW, 10), strict=True)] == [1, 1]
    for body in (
        orjson.dumps({'events': [{'message': 'a'}, {'level': 'verbose'}]}),
        orjson.dumps({'events': []}),
        orjson.dumps({'events': [{}] * 11}),
        orjson.dumps({'events': [{}], 'extra': 1}),
    ):
        with pytest.raises(InvalidField) as fast:
            decode.decode_batch(body, NOW, 10)
        with pytest.raises(InvalidField) as expected:
            normalize_batch(orjson.loads(body), NOW, 10)
        assert (fast.value.message, fast.value.field) == (expected.value.message, expected.value.field)
