"""Flask, served over real HTTP: errors reported once with the request, a scope per request."""

from __future__ import annotations

import threading

import flask  # a test dependency (sdks/python[test]): missing, it fails the run rather than skip
from webservers import get, get_at_once, serve_wsgi

import pulsekit_sdk

SECRET_HEADERS = {'Cookie': 'session=s3cret', 'Authorization': 'Bearer t0ken', 'X-Request-Id': 'req-77'}


def make_app():
    app = flask.Flask('shop')

    @app.route('/orders/<int:order_id>')
    def order(order_id):
        pulsekit_sdk.set_tag('order', order_id)
        raise LookupError(f'order {order_id} not found')

    @app.route('/users/<name>')
    def user(name):
        pulsekit_sdk.set_user({'id': name})
        pulsekit_sdk.capture_message(f'hello {name}')
        return 'ok'

    return app


def test_an_unhandled_flask_error_is_reported_once_with_the_request_and_route(global_client, server):
    global_client()
    with serve_wsgi(make_app()) as url:
        assert get(f'{url}/orders/12?ref=mail', SECRET_HEADERS) == 500

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()  # Flask also logs it: still one event
    assert event['exception'] == {'type': 'LookupError', 'value': 'order 12 not found', 'module': 'builtins'}
    assert event['tags'] == {'mechanism': 'flask', 'order': '12', 'route': '/orders/<int:order_id>'}
    request = event['metadata']['request']
    assert request['method'] == 'GET'
    assert request['url'] == f'{url}/orders/12'
    assert request['query_string'] == 'ref=mail'
    assert request['route'] == '/orders/<int:order_id>'
    assert request['headers']['X-Request-Id'] == 'req-77'
    assert 'Cookie' not in request['headers'] and 'Authorization' not in request['headers']
    assert 'env' not in request
    assert event['stacktrace']['frames'][-1]['function'] == 'order'


def test_with_send_default_pii_cookies_and_the_client_address_are_sent(global_client, server):
    global_client(send_default_pii=True)
    with serve_wsgi(make_app()) as url:
        get(f'{url}/orders/3', SECRET_HEADERS)

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()
    assert event['metadata']['request']['headers']['Cookie'] == 'session=s3cret'
    assert event['metadata']['request']['env'] == {'REMOTE_ADDR': '127.0.0.1'}


def test_a_user_set_in_one_request_is_not_on_the_next_request_served_by_the_same_thread(global_client, server):
    global_client()
    with serve_wsgi(make_app()) as url:  # one thread serves both requests
        assert get(f'{url}/users/ada') == 200
        assert get(f'{url}/orders/5') == 500

    assert pulsekit_sdk.flush(5.0)
    hello, error = server.events()
    assert hello['user'] == {'id': 'ada'}
    assert 'user' not in error


def test_concurrent_flask_requests_never_see_each_others_user(global_client, server):
    global_client()
    app = flask.Flask('concurrent')
    both_inside = threading.Barrier(2, timeout=5)

    @app.route('/as/<name>')
    def as_user(name):
        pulsekit_sdk.set_user({'id': name})
        pulsekit_sdk.set_tag('who', name)
        both_inside.wait()  # the other request has set its user too
        pulsekit_sdk.capture_message(f'from {name}')
        return 'ok'

    with serve_wsgi(app, threaded=True) as url:
        results = get_at_once([f'{url}/as/a', f'{url}/as/b'])

    assert results == [200, 200]
    assert pulsekit_sdk.flush(5.0)
    events = {event['message']: event for event in server.events()}
    assert events['from a']['user'] == {'id': 'a'} and events['from a']['tags'] == {'who': 'a'}
    assert events['from b']['user'] == {'id': 'b'} and events['from b']['tags'] == {'who': 'b'}
