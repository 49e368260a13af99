"""Batching, compression, retries, Retry-After, rejections and the bounded queue, against a real local server."""

from __future__ import annotations

import gzip
import json
import logging
import socket

import pytest
from conftest import API_KEY

from pulsekit_sdk.transport import MAX_BODY_BYTES, encode_bodies, parse_retry_after
from pulsekit_sdk.worker import backoff_delay


def test_events_leave_in_batches_of_at_most_max_batch_size_in_capture_order(make_client, server):
    client = make_client(max_batch_size=100)
    ids = [client.capture(type='job.tick', metadata={'n': n}) for n in range(250)]

    assert client.flush(5.0)
    assert [len(request.body['events']) for request in server.requests] == [100, 100, 50]
    assert [event['id'] for event in server.events()] == ids


def test_a_batch_is_gzip_json_posted_with_the_key_to_the_batch_endpoint(make_client, server):
    client = make_client(endpoint=server.url + '/tracker')
    client.capture_message('hello')
    assert client.flush(5.0)

    (request,) = server.requests
    assert request.path == '/tracker/api/v1/events/batch'
    assert request.headers['Content-Type'] == 'application/json'
    assert request.headers['Content-Encoding'] == 'gzip'
    assert request.headers['X-PulseKit-Key'] == API_KEY
    assert request.headers['User-Agent'].startswith('pulsekit-python/')
    assert json.loads(gzip.decompress(request.raw_body))['events'][0]['message'] == 'hello'


def test_an_unflushed_batch_is_sent_after_the_batch_interval(make_client, server):
    client = make_client(batch_interval_s=0.05)
    event_id = client.capture_message('no flush needed')

    assert len(server.wait_for_requests(1, timeout_s=5.0)) == 1
    assert server.events()[0]['id'] == event_id


def test_5xx_answers_are_retried_with_doubling_delays_and_the_same_ids(make_client, server, sleeps):
    server.respond(500)
    server.respond(502)
    server.respond(504)
    client = make_client(jitter=lambda: 1.0)
    event_id = client.capture_message('retry me')

    assert client.flush(5.0)
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert [[event['id'] for event in request.body['events']] for request in server.requests] == [[event_id]] * 4
    assert client.dropped_events() == {}


@pytest.mark.parametrize(
    ('attempt', 'jitter', 'delay'),
    [(0, 0.0, 0.25), (0, 1.0, 0.5), (1, 0.5, 0.75), (3, 1.0, 4.0), (6, 1.0, 30.0), (50, 0.0, 15.0)],
)
def test_backoff_doubles_per_attempt_keeps_half_and_is_capped_at_30_s(attempt, jitter, delay):
    assert backoff_delay(attempt, jitter) == delay


def test_retry_after_of_429_and_503_is_waited_for_instead_of_backoff(make_client, server, sleeps):
    server.respond(429, {'Retry-After': '7'})
    server.respond(503, {'Retry-After': '2'})
    server.respond(503)  # no Retry-After: back off as usual
    client = make_client(jitter=lambda: 1.0)
    client.capture_message('busy server')

    assert client.flush(5.0)
    assert sleeps.delays == [7.0, 2.0, 2.0]
    assert len(server.requests) == 4


@pytest.mark.parametrize(
    ('header', 'seconds'),
    [
        ('3', 3.0),
        (' 1.5 ', 1.5),
        ('0', 0.0),
        ('-4', 0.0),
        ('3600', 60.0),
        ('Thu, 26 Nov 2026 07:00:10 GMT', 10.0),
        ('soon', None),
        ('', None),
        (None, None),
    ],
)
def test_retry_after_header_is_read_as_seconds_or_http_date(header, seconds):
    now = 1795676400.0  # 2026-11-26T07:00:00Z
    assert parse_retry_after(header, now=now) == seconds


def test_a_validation_error_is_not_retried_and_is_logged_once(make_client, server, sleeps, caplog):
    server.respond(422, times=2)
    client = make_client()

    with caplog.at_level(logging.ERROR, logger='pulsekit_sdk'):
        client.capture_message('first')
        assert not client.flush(5.0), 'a refused batch is a loss flush() reports'
        client.capture_message('second')
        assert not client.flush(5.0)

    assert len(server.requests) == 2
    assert sleeps.delays == []
    assert client.dropped_events() == {'rejected': 2}
    assert len([record for record in caplog.records if '422' in record.getMessage()]) == 1


def test_an_unreachable_server_is_retried_then_the_batch_is_dropped_and_counted(make_client, sleeps):
    with socket.socket() as placeholder:  # a port nothing listens on
        placeholder.bind(('127.0.0.1', 0))
        port = placeholder.getsockname()[1]
    client = make_client(endpoint=f'http://127.0.0.1:{port}', max_retries=2, jitter=lambda: 0.0)
    client.capture_message('lost')

    assert not client.flush(5.0)
    assert sleeps.delays == [0.25, 0.5]
    assert client.dropped_events() == {'server_unreachable': 1}


def test_a_full_queue_drops_the_newest_events_and_counts_them(make_client, server):
    client = make_client(max_queue_size=3)
    ids = [client.capture_message(f'event {n}') for n in range(5)]

    assert ids[3:] == [None, None]
    assert all(ids[:3])
    assert client.dropped_events() == {'queue_full': 2}
    assert not client.flush(5.0), 'events dropped before the flush make it report a loss'
    assert [event['id'] for event in server.events()] == ids[:3]
    client.capture_message('after')
    assert client.flush(5.0), 'the next flush with nothing lost since is clean again'


def test_flush_reports_false_while_the_server_keeps_answering_503(make_client, server):
    server.respond(503, {'Retry-After': '1'}, times=100)
    client = make_client(sleep=None)  # the real wait, which close() interrupts
    client.capture_message('stuck')

    assert client.flush(0.2) is False
    assert client.close(0.0) is False
    assert client.dropped_events() == {'shutdown': 1}


def test_events_after_close_are_dropped_and_counted(make_client):
    client = make_client()
    client.close(1.0)

    assert client.capture_message('too late') is None
    assert client.dropped_events() == {'closed': 1}


def test_bodies_over_the_size_limit_are_split_without_losing_or_reordering_events():
    events = [{'id': str(n), 'metadata': {'blob': 'x' * 60_000}} for n in range(100)]

    bodies = encode_bodies(events)

    assert len(bodies) == 2
    assert all(len(body) <= MAX_BODY_BYTES for body in bodies)
    assert [event['id'] for body in bodies for event in json.loads(body)['events']] == [e['id'] for e in events]
