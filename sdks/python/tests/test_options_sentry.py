"""Options sentry-sdk users reach for: before_send hints, ignore_errors, in-app rules, frame caps, and more."""

from __future__ import annotations

import logging

import pytest

import pulsekit_sdk
from pulsekit_sdk import ConfigurationError


class PaymentDeclined(Exception):
    pass


class CardExpired(PaymentDeclined):
    pass


def events_of(client, server) -> list:
    assert client.flush(5.0)
    return server.events()


def test_before_send_with_two_parameters_gets_the_exception_in_its_hint(make_client, server):
    seen = []

    def before_send(event, hint):
        seen.append(hint['exc_info'])
        event['tags'] = {'scrubbed': 'yes'}
        return event

    client = make_client(before_send=before_send)
    try:
        raise CardExpired('card 4242 expired')
    except CardExpired as exc:
        client.capture_exception(exc)
        error = exc
    client.capture_message('no exception')

    assert seen[0][0] is CardExpired and seen[0][1] is error and seen[0][2] is error.__traceback__
    assert seen[1] is None
    assert [event['tags'] for event in events_of(client, server)] == [{'scrubbed': 'yes'}] * 2


@pytest.mark.parametrize(
    ('ignored', 'raised', 'is_sent'),
    [
        ([PaymentDeclined], CardExpired, False),  # a subclass of an ignored class
        (['CardExpired'], CardExpired, False),  # by class name
        ([f'{__name__}.CardExpired'], CardExpired, False),  # by qualified name
        (['PaymentDeclined'], CardExpired, True),  # names match the class itself only
        ([KeyError], CardExpired, True),
    ],
)
def test_ignore_errors_drops_matching_exceptions(make_client, server, ignored, raised, is_sent):
    client = make_client(ignore_errors=ignored)
    try:
        raise raised('x')
    except Exception as exc:
        event_id = client.capture_exception(exc)

    assert (event_id is not None) == is_sent
    assert len(events_of(client, server)) == int(is_sent)


def test_in_app_include_and_exclude_decide_by_module(make_client, server):
    client = make_client(in_app_include=['json'], in_app_exclude=[__name__])
    import json

    try:
        json.loads('{')
    except ValueError as exc:
        client.capture_exception(exc)

    (event,) = events_of(client, server)
    by_module = {frame['module']: frame['in_app'] for frame in event['stacktrace']['frames']}
    assert by_module[__name__] is False, 'excluded although it is the app'
    assert by_module['json.decoder'] is True, 'included although it is the standard library'


def test_max_stack_frames_keeps_the_frames_closest_to_the_failure(make_client, server):
    client = make_client(max_stack_frames=5)

    def dive(depth):
        if depth == 0:
            raise RecursionError('deep')
        dive(depth - 1)

    try:
        dive(30)
    except RecursionError as exc:
        client.capture_exception(exc)

    (event,) = events_of(client, server)
    frames = event['stacktrace']['frames']
    assert len(frames) == 5
    assert frames[-1]['function'] == 'dive' and frames[-1]['context_line'].strip() == "raise RecursionError('deep')"


def test_server_name_dist_extra_and_level_reach_the_event(global_client, server):
    global_client(server_name='web-3', dist='arm64')
    pulsekit_sdk.set_extra('order', {'id': 12})
    with pulsekit_sdk.push_scope():
        pulsekit_sdk.set_level('fatal')
        pulsekit_sdk.capture_message('inside', level='info')
    with pulsekit_sdk.new_scope() as scope:
        scope.set_extra('order', None)
        pulsekit_sdk.capture_message('extra removed')
    pulsekit_sdk.capture_message('after')

    assert pulsekit_sdk.flush(5.0)
    inside, removed, after = server.events()
    assert inside['level'] == 'fatal'
    assert inside['metadata'] == {'server_name': 'web-3', 'dist': 'arm64', 'extra': {'order': {'id': 12}}}
    assert removed['metadata'] == {'server_name': 'web-3', 'dist': 'arm64'}
    assert after['level'] == 'info' and after['metadata']['extra'] == {'order': {'id': 12}}


def test_sentry_only_options_are_accepted_with_one_warning_and_unknown_ones_still_fail(server, caplog):
    with caplog.at_level(logging.WARNING, logger='pulsekit_sdk'):
        client = pulsekit_sdk.Client(
            pulsekit_sdk.Options.build(
                endpoint=server.url, api_key='pk_test', traces_sample_rate=0.2, profiles_sample_rate=0.1
            )
        )
    client.close(1.0)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2 and "'traces_sample_rate'" in warnings[0] and 'ignored' in warnings[0]

    with pytest.raises(ConfigurationError, match="unknown option 'enviroment'; did you mean 'environment'"):
        pulsekit_sdk.Options.build(endpoint=server.url, api_key='pk_test', enviroment='prod')


def test_debug_prints_the_sdks_own_log_on_stderr(global_client, server, capfd):
    global_client(debug=True)
    server.respond(503, {'Retry-After': '0'})
    pulsekit_sdk.capture_message('retried once')
    assert pulsekit_sdk.flush(5.0)
    pulsekit_sdk.close(1.0)

    assert '[pulsekit_sdk] DEBUG pulsekit: server busy (503); retrying 1 events' in capfd.readouterr().err
