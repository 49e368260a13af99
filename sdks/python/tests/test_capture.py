"""What capture calls put on the wire: levels, types, exceptions, frames, limits, before_send, sampling."""

from __future__ import annotations

import json
import os
import sysconfig

import pytest

from pulsekit_sdk.stacktraces import is_in_app


def sent(client) -> list:
    """Flush the client and return the events the server received."""
    assert client.flush(5.0)
    return client.transport_server.events()


@pytest.fixture
def client(make_client, server):
    built = make_client()
    built.transport_server = server
    return built


@pytest.mark.parametrize(
    ('call', 'wire_type', 'wire_level'),
    [
        ({'message': 'plain'}, 'message', 'info'),
        ({'message': 'm', 'level': 'WARN'}, 'message', 'warning'),
        ({'message': 'm', 'level': 'critical'}, 'error', 'fatal'),
        ({'message': 'm', 'level': 'error'}, 'error', 'error'),
        ({'message': 'm', 'level': 'verbose'}, 'message', 'info'),
        ({'type': 'payment.success', 'level': 'debug'}, 'payment.success', 'debug'),
        ({'type': 'payment success!'}, 'payment_success_', 'info'),
    ],
)
def test_levels_and_types_are_normalised_and_defaulted_as_the_protocol_says(client, call, wire_type, wire_level):
    client.capture(**call)
    (event,) = sent(client)
    assert (event['type'], event['level']) == (wire_type, wire_level)


def test_capture_returns_the_id_the_event_is_sent_with(client):
    event_id = client.capture(type='signup')
    (event,) = sent(client)
    assert event['id'] == event_id
    assert len(event_id) == 36
    assert event['timestamp'].endswith('Z')


def test_tags_and_metadata_are_made_valid_instead_of_poisoning_the_batch(client):
    class Cart:
        def __repr__(self):
            return '<Cart 3 items>'

    client.capture(
        type='checkout',
        tags={'bad key!': 'v', 'flag': True, 'count': 3, 'long': 'x' * 300, 'gone': None, 'line': 'a\nb'},
        metadata={'cart': Cart(), 'ids': {1, 2}, 'ratio': float('nan'), 7: 'int key'},
    )
    (event,) = sent(client)
    assert event['tags'] == {'bad_key_': 'v', 'flag': 'true', 'count': '3', 'long': 'x' * 200, 'line': 'a b'}
    assert event['metadata'] == {'cart': '<Cart 3 items>', 'ids': [1, 2], 'ratio': 'nan', '7': 'int key'}


def test_an_oversized_value_is_trimmed_and_the_rest_of_the_metadata_kept(client):
    client.capture(type='big', metadata={'blob': 'x' * 70_000, 'rows': list(range(2000)), 'order': 1234})
    (event,) = sent(client)
    assert event['metadata']['blob'] == 'x' * 8192 + '…'
    assert event['metadata']['rows'] == list(range(500))
    assert event['metadata']['order'] == 1234


def test_oversized_metadata_is_replaced_by_a_note_and_the_event_still_sent(client):
    client.capture(type='big', metadata={f'blob{n}': 'x' * 8000 for n in range(10)})
    (event,) = sent(client)
    assert list(event['metadata']) == ['pulsekit_dropped_metadata_bytes']


def test_metadata_is_cut_to_a_string_where_it_would_nest_past_ten_levels(client):
    deep: dict = {}
    node = deep
    for _ in range(15):
        node['child'] = {}
        node = node['child']
    client.capture(type='deep', metadata=deep)
    (event,) = sent(client)
    depth, node = 0, event['metadata']
    while isinstance(node, dict):
        depth, node = depth + 1, node.get('child')
    # The metadata object is level 1 for the server; level 10 holds the string of what was deeper.
    assert depth == 9
    assert isinstance(node, str)


def checkout():
    try:
        call_gateway()
    except TimeoutError as exc:
        raise RuntimeError('payment failed') from exc


def call_gateway():
    raise TimeoutError('gateway timed out')


def test_exception_event_keeps_the_direct_cause_first_and_frames_oldest_first(client):
    try:
        try:
            checkout()
        except RuntimeError as exc:
            raise KeyError('order') from exc
    except KeyError as exc:
        client.capture_exception(exc)

    (event,) = sent(client)
    assert event['type'] == 'error' and event['level'] == 'error'
    assert event['exception']['type'] == 'KeyError'
    assert event['exception']['module'] == 'builtins'
    assert [entry['type'] for entry in event['exception']['chain']] == ['RuntimeError', 'TimeoutError']
    assert [frame['function'] for frame in event['stacktrace']['frames']] == [
        'test_exception_event_keeps_the_direct_cause_first_and_frames_oldest_first'
    ]
    cause_frames = event['exception']['chain'][1]['stacktrace']['frames']
    assert [frame['function'] for frame in cause_frames] == ['checkout', 'call_gateway']


def test_implicit_context_is_chained_but_raise_from_none_hides_it(client):
    for suppress in (False, True):
        try:
            try:
                raise ValueError('first')
            except ValueError:
                if suppress:
                    raise LookupError('second') from None
                raise LookupError('second')  # noqa: B904 - the implicit context is what is tested
        except LookupError as exc:
            client.capture_exception(exc)

    implicit, suppressed = sent(client)
    assert [entry['type'] for entry in implicit['exception']['chain']] == ['ValueError']
    assert 'chain' not in suppressed['exception']


def test_a_frame_carries_file_module_line_in_app_and_source_context(client):
    try:
        call_gateway()
    except TimeoutError:
        client.capture_exception()  # the exception being handled

    (event,) = sent(client)
    frame = event['stacktrace']['frames'][-1]
    assert frame['function'] == 'call_gateway'
    assert frame['module'] == 'test_capture'
    assert frame['filename'] == __file__
    assert frame['in_app'] is True
    assert frame['context_line'] == "    raise TimeoutError('gateway timed out')"
    assert frame['pre_context'][-1] == 'def call_gateway():'
    assert len(frame['pre_context']) == 5 and len(frame['post_context']) == 5
    with open(__file__, encoding='utf-8') as source:
        assert source.read().splitlines()[frame['lineno'] - 1] == frame['context_line']


def test_standard_library_frames_are_not_in_app(client):
    try:
        json.loads('{broken')
    except ValueError as exc:
        client.capture_exception(exc)

    (event,) = sent(client)
    frames = event['stacktrace']['frames']
    assert frames[0]['in_app'] is True
    assert frames[-1]['module'].startswith('json')
    assert frames[-1]['in_app'] is False


@pytest.mark.parametrize(
    ('filename', 'in_app'),
    [
        ('/srv/app/venv/lib/python3.11/site-packages/requests/api.py', False),
        ('/usr/lib/python3/dist-packages/yaml/parser.py', False),
        (os.path.join(sysconfig.get_paths()['stdlib'], 'json', 'decoder.py'), False),
        ('<frozen importlib._bootstrap>', False),
        ('<string>', False),
        ('/srv/app/billing/ratio.py', True),
        (__file__, True),
    ],
)
def test_in_app_excludes_installed_packages_the_standard_library_and_generated_code(filename, in_app):
    assert is_in_app(filename) is in_app


def test_capture_exception_outside_except_captures_nothing(client):
    assert client.capture_exception() is None


def test_before_send_can_edit_or_drop_events_and_drops_are_counted(make_client, server):
    def before_send(event):
        if event['message'] == 'secret':
            return None
        event['tags']['scrubbed'] = 'yes'
        event['typo_field'] = 'refused by the server, so removed'
        return event

    client = make_client(before_send=before_send)
    kept = client.capture_message('hello', tags={'a': '1'})
    dropped = client.capture_message('secret')

    assert client.flush(5.0)
    assert dropped is None
    (event,) = server.events()
    assert event['id'] == kept
    assert event['tags'] == {'a': '1', 'scrubbed': 'yes'}
    assert 'typo_field' not in event
    assert client.dropped_events() == {'before_send': 1}


def test_a_failing_before_send_drops_the_event_rather_than_send_it_unscrubbed(make_client, server):
    def before_send(event):
        raise RuntimeError('bug in the scrubber')

    client = make_client(before_send=before_send)
    assert client.capture_message('password=hunter2') is None
    assert not client.flush(5.0), 'an event lost to a bug is a loss flush() reports'
    assert server.requests == []
    assert client.dropped_events() == {'before_send_error': 1}


def test_sample_rate_keeps_the_events_whose_draw_is_below_it(make_client, server):
    draws = iter([0.1, 0.9, 0.49, 0.5, 0.0])
    client = make_client(sample_rate=0.5, sample=lambda: next(draws))

    ids = [client.capture_message(f'event {n}') for n in range(5)]

    assert client.flush(5.0)
    assert [event_id is not None for event_id in ids] == [True, False, True, False, True]
    assert [event['message'] for event in server.events()] == ['event 0', 'event 2', 'event 4']
    assert client.dropped_events() == {'sample_rate': 2}


@pytest.mark.parametrize(('rate', 'expected_kept'), [(0.0, 0), (1.0, 20)])
def test_sample_rate_zero_sends_nothing_and_one_sends_everything(make_client, server, rate, expected_kept):
    client = make_client(sample_rate=rate)
    for n in range(20):
        client.capture_message(f'event {n}')
    assert client.flush(5.0)
    assert len(server.events()) == expected_kept
