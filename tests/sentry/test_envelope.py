"""Envelope parsing, per https://develop.sentry.dev/sdk/data-model/envelopes/ (its own examples included)."""

from pathlib import Path

import pytest

from pulsekit.sentry.envelope import InvalidEnvelope, InvalidEventPayload, parse_envelope, parse_event_payload

FIXTURE = Path(__file__).parents[2] / 'benchmarks' / 'fixtures' / 'sentry-python-error.envelope'
HEADER = (
    b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"}'
)

VALID = [
    # (name, body, [(type, payload), ...])
    (
        'event with length',
        HEADER + b'\n{"type":"event","length":41}\n{"message":"hello world","level":"error"}\n',
        [('event', b'{"message":"hello world","level":"error"}')],
    ),
    (
        'event without length',
        HEADER + b'\n{"type":"event"}\n{"message":"hello world","level":"error"}\n',
        [('event', b'{"message":"hello world","level":"error"}')],
    ),
    (
        'no trailing newline',
        HEADER + b'\n{"type":"event"}\n{"message":"hi"}',
        [('event', b'{"message":"hi"}')],
    ),
    (
        'several trailing newlines',
        HEADER + b'\n{"type":"event"}\n{"message":"hi"}\n\n\n',
        [('event', b'{"message":"hi"}')],
    ),
    (
        'payload with newlines inside its length',
        HEADER
        + b'\n{"type":"attachment","length":10,"filename":"a.txt"}\n\xef\xbb\xbfHello\r\n\n{"type":"event"}\n{}\n',
        [('attachment', b'\xef\xbb\xbfHello\r\n'), ('event', b'{}')],
    ),
    (
        'empty payloads, with and without length (spec example)',
        b'{}\n{"type":"attachment","length":0}\n\n{"type":"attachment"}\n\n',
        [('attachment', b''), ('attachment', b'')],
    ),
    (
        'last item with length and no newline',
        b'{}\n{"type":"session","length":2}\n{}',
        [('session', b'{}')],
    ),
    ('header only', b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}', []),
    ('header only with newline', b'{}\n', []),
    (
        'crlf line endings',
        b'{}\r\n{"type":"event"}\r\n{"message":"hi"}\r\n',
        [('event', b'{"message":"hi"}')],
    ),
    (
        'mixed item types',
        HEADER + b'\n{"type":"client_report"}\n{"discarded_events":[]}\n{"type":"event","length":2}\n{}\n'
        b'{"type":"transaction"}\n{"type":"transaction"}\n',
        [('client_report', b'{"discarded_events":[]}'), ('event', b'{}'), ('transaction', b'{"type":"transaction"}')],
    ),
]


@pytest.mark.parametrize(('name', 'body', 'expected'), VALID, ids=[case[0] for case in VALID])
def test_parse_envelope_splits_items(name, body, expected):
    envelope = parse_envelope(body)
    assert [(item.type, item.payload) for item in envelope.items] == expected


def test_envelope_header_and_item_headers_are_kept():
    envelope = parse_envelope(HEADER + b'\n{"type":"event","length":2,"content_type":"application/json"}\n{}\n')
    assert envelope.headers['event_id'] == '9ec79c33ec9942ab8353589fcb2e04dc'
    assert envelope.items[0].headers == {'type': 'event', 'length': 2, 'content_type': 'application/json'}


def test_only_event_items_are_stored_and_the_rest_named_as_skipped():
    body = b'{}\n{"type":"session"}\n{}\n{"type":"event"}\n{}\n{"type":"client_report"}\n{}\n'
    envelope = parse_envelope(body)
    assert [item.type for item in envelope.event_items] == ['event']
    assert envelope.skipped_item_types == ['session', 'client_report']


INVALID = [
    ('empty body', b'', 'envelope header'),
    ('header not json', b'hello\n{"type":"event"}\n{}', 'envelope header'),
    ('header not an object', b'[1,2]\n', 'envelope header'),
    ('item header not json', b'{}\n{type: event}\n{}', 'item 0 header'),
    ('item without type', b'{}\n{"length":2}\n{}', 'no type'),
    ('item with empty type', b'{}\n{"type":""}\n{}', 'no type'),
    ('negative length', b'{}\n{"type":"event","length":-1}\n{}', 'non-negative'),
    ('string length', b'{}\n{"type":"event","length":"2"}\n{}', 'non-negative'),
    ('payload shorter than length', b'{}\n{"type":"event","length":50}\n{}', 'shorter'),
]


@pytest.mark.parametrize(('name', 'body', 'words'), INVALID, ids=[case[0] for case in INVALID])
def test_malformed_envelopes_raise_invalid_envelope(name, body, words):
    with pytest.raises(InvalidEnvelope, match=words):
        parse_envelope(body)


def test_captured_sentry_python_envelope_parses():
    envelope = parse_envelope(FIXTURE.read_bytes())
    assert [item.type for item in envelope.items] == ['event']
    event = parse_event_payload(envelope.items[0].payload)
    assert event['event_id'] == envelope.headers['event_id']
    assert event['exception']['values'][-1]['type'] == 'RuntimeError'


@pytest.mark.parametrize(
    ('payload', 'expected'),
    [
        (b'{"message":"hi"}', {'message': 'hi'}),
        # Python's json module writes integers beyond 64 bits; they are read exactly, not refused.
        (b'{"extra":{"big":123456789012345678901234567890}}', {'extra': {'big': 123456789012345678901234567890}}),
        # Lone UTF-16 surrogates (no database stores them as text) and bytes that are not UTF-8 are
        # replaced with U+FFFD, in keys too; a surrogate pair is one character.
        (b'{"message":"a\\ud800b"}', {'message': 'a\ufffdb'}),
        (b'{"tags":{"k\\udc00":"\\udbff"}}', {'tags': {'k\ufffd': '\ufffd'}}),
        (b'{"message":"\\ud83d\\ude00 \\ud800"}', {'message': '\U0001f600 \ufffd'}),
        (b'{"message":"caf\xe9"}', {'message': 'caf\ufffd'}),
        (b'{"message":"\\\\ud800"}', {'message': '\\ud800'}),  # an escaped backslash: plain text
    ],
)
def test_event_payloads_parse(payload, expected):
    assert parse_event_payload(payload) == expected


def test_event_payload_with_nan_parses():
    # Python's json module writes NaN for float('nan'); Sentry accepts it, so do we.
    event = parse_event_payload(b'{"extra":{"ratio":NaN}}')
    assert event['extra']['ratio'] != event['extra']['ratio']


@pytest.mark.parametrize('payload', [b'', b'not json', b'[1]', b'"text"', b'{"a":'])
def test_event_payload_that_is_not_an_object_is_refused(payload):
    with pytest.raises(InvalidEventPayload):
        parse_event_payload(payload)
