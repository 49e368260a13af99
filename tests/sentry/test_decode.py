"""The compiled pass (sentry/decode.py) gives exactly what the general reader, the mapping and the
protocol's validation give, for every payload it takes; the usual SDK shapes take it."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from pulsekit.errors import PulseKitError
from pulsekit.sentry.decode import decode_sentry_event
from pulsekit.sentry.envelope import parse_envelope, parse_event_payload
from pulsekit.sentry.intake import _prepare, prepare_payload

from .test_mapping import CHAINED, EXCEPTION_SHAPES, FINGERPRINTS, FIXTURE, FRAMES, MESSAGES, TAGS

RECEIVED = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
FIXTURE_EVENT = orjson.loads(parse_envelope(FIXTURE.read_bytes()).event_items[0].payload)
FIXTURE_FRAMES = FIXTURE_EVENT['exception']['values'][0]['stacktrace']['frames']


def with_frames(*frames) -> dict:
    return {'exception': {'values': [{'type': 'E', 'value': 'v', 'stacktrace': {'frames': list(frames)}}]}}


def edited(path: tuple, value) -> dict:
    event = copy.deepcopy(FIXTURE_EVENT)
    target = event
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return event


FRAME_PATH = ('exception', 'values', 0, 'stacktrace', 'frames', 0)
# Shapes the compiled pass must hand to the slow path, or take with the same result.
VARIANTS = {
    'fixture': FIXTURE_EVENT,
    'chained': CHAINED,
    'empty event': {},
    'message only': {'message': 'hello', 'level': 'warning'},
    'synthetic message stack': {
        'message': 'm',
        'exception': {
            'values': [{'value': 'm', 'mechanism': {'synthetic': True}, 'stacktrace': {'frames': FIXTURE_FRAMES}}]
        },
    },
    'top-level stacktrace': {'message': 'm', 'stacktrace': {'frames': FIXTURE_FRAMES}},
    'empty stacktrace object': {'message': 'm', 'stacktrace': {}},
    'stacktrace with no frames': with_frames(),
    'threads': {**FIXTURE_EVENT, 'threads': {'values': [{'id': 1, 'crashed': True, 'stacktrace': {'frames': []}}]}},
    'legacy interface': {'sentry.interfaces.Exception': {'values': [{'type': 'E'}]}},
    'legacy null after exception': {**FIXTURE_EVENT, 'sentry.interfaces.Exception': None},
    'exception as a list': {'exception': [{'type': 'E', 'value': 'v'}]},
    'exception values null': {'exception': {'values': None}},
    'empty exception value': {'exception': {'values': [{}, {'type': 'E'}]}},
    'empty strings in a frame': with_frames({'function': '', 'filename': 'a.py', 'context_line': ''}),
    'nulls in a frame': with_frames({'function': None, 'filename': 'a.py', 'lineno': None, 'module': None}),
    'abs_path only': with_frames({'abs_path': '/srv/a.py', 'function': 'f'}),
    'long function name': with_frames({'function': 'f' * 300}),
    'long context line': with_frames({'context_line': 'x' * 2000, 'pre_context': ['y' * 2000]}),
    'many context lines': with_frames({'pre_context': [str(i) for i in range(15)]}),
    'context line not text': with_frames({'pre_context': ['a', 3, None]}),
    'negative line': with_frames({'lineno': -1}),
    'line beyond 63 bits': with_frames({'lineno': 2**63 + 5}),
    'line beyond 64 bits': with_frames({'lineno': 2**70}),
    'float line': with_frames({'lineno': 12.0}),
    'in_app as text': with_frames({'in_app': 'true'}),
    'frame not an object': with_frames('frame'),
    '300 frames': with_frames(*[{'function': f'f{i}', 'filename': 'a.py'} for i in range(300)]),
    'exception type not text': {'exception': {'values': [{'type': 7, 'value': 'v'}]}},
    'big integers in extra': {**FIXTURE_EVENT, 'extra': {'big': 2**70, 'neg': -(2**64)}},
    'metadata too large': {**FIXTURE_EVENT, 'extra': {'blob': 'x' * 70_000}},
    'metadata too deep': {**FIXTURE_EVENT, 'extra': {'a': {'b': {'c': {'d': {'e': {'f': {'g': {'h': {'i': 1}}}}}}}}}},
    'odd timestamp': {**FIXTURE_EVENT, 'timestamp': '0001-01-01T00:00:00+14:00'},
    'future timestamp': {**FIXTURE_EVENT, 'timestamp': '2999-01-01T00:00:00Z'},
    'numeric timestamp': {**FIXTURE_EVENT, 'timestamp': 1764140400.5},
    'level not text': {**FIXTURE_EVENT, 'level': 3},
    'mechanism not an object': edited(('exception', 'values', 0, 'mechanism'), 'generic'),
    'frame vars dropped': edited((*FRAME_PATH, 'vars'), {'a': {'b': [1, 2, {'c': None}]}}),
    'user with extras': {**FIXTURE_EVENT, 'user': {'id': 7, 'ip_address': '{{auto}}', 'geo': {'city': 'Oslo'}}},
}
VARIANTS |= {f'exception shape {i}': {'exception': shape} for i, (shape, _) in enumerate(EXCEPTION_SHAPES)}
VARIANTS |= {f'frame {name}': with_frames(sentry_frame) for name, sentry_frame, _ in FRAMES}
VARIANTS |= {f'message {name}': sentry for name, sentry, _ in MESSAGES}
VARIANTS |= {f'tags {name}': {**FIXTURE_EVENT, 'tags': tags} for name, tags, _ in TAGS}
VARIANTS |= {f'fingerprint {name}': {**FIXTURE_EVENT, 'fingerprint': fp} for name, fp, _ in FINGERPRINTS}


def outcome(prepare):
    try:
        event = prepare()
    except PulseKitError as exc:
        return type(exc).__name__, exc.field
    return event


@pytest.mark.parametrize('name', VARIANTS)
def test_the_compiled_pass_gives_what_the_slow_path_gives(name):
    event = {'event_id': uuid.uuid4().hex, **VARIANTS[name]}  # a fixed id: both paths keep it
    payload = json.dumps(event).encode()  # Python's json module writes integers beyond 64 bits, as SDKs may
    fast = outcome(lambda: prepare_payload(payload, RECEIVED, '203.0.113.9', None))
    slow = outcome(lambda: _prepare(parse_event_payload(payload), RECEIVED, '203.0.113.9', None))
    assert fast == slow


@pytest.mark.parametrize(
    'name', ['fixture', 'chained', 'message only', 'top-level stacktrace', 'nulls in a frame', 'abs_path only']
)
def test_the_usual_sdk_shapes_take_the_compiled_pass(name):
    assert decode_sentry_event(orjson.dumps(VARIANTS[name])) is not None
