"""The Sentry intake's domain functions: envelope → validated native events, without a server."""

from datetime import UTC, datetime

import orjson
import pytest

from pulsekit.errors import PermissionDenied
from pulsekit.projects import KeyInfo
from pulsekit.sentry.envelope import parse_envelope
from pulsekit.sentry.intake import prepare_envelope, prepare_store, require_project_key

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
EVENT_ID = '9ec79c33ec9942ab8353589fcb2e04dc'


def envelope(*payloads: tuple[str, bytes]) -> bytes:
    lines = [orjson.dumps({'event_id': EVENT_ID})]
    for item_type, payload in payloads:
        lines += [orjson.dumps({'type': item_type}), payload]
    return b'\n'.join(lines) + b'\n'


def test_event_items_become_validated_events_and_the_rest_is_skipped():
    body = envelope(('session', b'{"sid":"1"}'), ('event', b'{"message":"hello","level":"warning"}'), ('span', b'{}'))
    intake = prepare_envelope(parse_envelope(body), NOW)
    [event] = intake.events
    assert event['id'].hex == EVENT_ID  # the header's id, as the event carries none
    assert (event['type'], event['level'], event['message']) == ('message', 'warning', 'hello')
    assert intake.event_id == EVENT_ID
    assert intake.skipped_item_types == ['session', 'span']


def test_an_envelope_without_events_answers_with_the_header_id():
    intake = prepare_envelope(parse_envelope(envelope(('client_report', b'{}'))), NOW)
    assert (intake.events, intake.event_id) == ([], EVENT_ID)


@pytest.mark.parametrize(
    'extra',
    [
        b'{"blob":"' + b'x' * 100_000 + b'"}',  # over 64 KiB
        b'{"d":' + b'{"d":' * 30 + b'1' + b'}' * 30 + b'}',  # deeper than 10 levels
        b'{"big":123456789012345678901234567890,"nan":NaN}',  # only Python's json reads these
    ],
    ids=['too large', 'too deep', 'beyond orjson'],
)
def test_metadata_that_breaks_native_limits_is_clipped_not_refused(extra):
    payload = b'{"message":"m","extra":' + extra + b'}'
    [event] = prepare_envelope(parse_envelope(envelope(('event', payload))), NOW).events
    assert len(orjson.dumps(event['metadata'])) <= 64 * 1024


def test_store_bodies_are_one_event():
    intake = prepare_store(b'{"event_id":"' + EVENT_ID.encode() + b'","message":"stored"}', NOW)
    assert intake.event_id == EVENT_ID
    assert intake.events[0]['message'] == 'stored'


def test_a_key_must_belong_to_the_dsn_project():
    require_project_key(KeyInfo(1, 3, frozenset({'ingest'})), 3)
    with pytest.raises(PermissionDenied):
        require_project_key(KeyInfo(1, 3, frozenset({'ingest'})), 4)
    with pytest.raises(PermissionDenied):
        require_project_key(KeyInfo(2, 3, frozenset({'admin'})), 4)
