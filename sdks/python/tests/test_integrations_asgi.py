"""FastAPI/Starlette (automatic) and the generic ASGI and WSGI middleware, over real HTTP."""

from __future__ import annotations

import asyncio

import fastapi
from webservers import get, get_at_once, serve_asgi, serve_wsgi

import pulsekit_sdk

SECRET_HEADERS = {'Cookie': 'sid=1', 'Authorization': 'Bearer x', 'X-Trace': 't-1'}


def make_fastapi_app():
    app = fastapi.FastAPI()
    turns = {'a': asyncio.Event(), 'b': asyncio.Event()}

    @app.get('/items/{item_id}')
    async def item(item_id: int):
        pulsekit_sdk.set_tag('item', item_id)
        raise KeyError(f'item {item_id}')

    @app.get('/as/{name}')
    async def as_user(name: str):
        # Two requests interleave on one event loop: each waits for the other to set its user.
        other = 'b' if name == 'a' else 'a'
        pulsekit_sdk.set_user({'id': name})
        turns[name].set()
        await asyncio.wait_for(turns[other].wait(), 5)
        pulsekit_sdk.capture_message(f'from {name}')
        return {'ok': True}

    return app


def test_fastapi_errors_are_reported_once_with_route_and_request_without_any_setup(global_client, server):
    global_client()
    assert 'starlette' in pulsekit_sdk.integrations.enabled_frameworks()
    with serve_asgi(make_fastapi_app()) as url:
        assert get(f'{url}/items/9?verbose=1', SECRET_HEADERS) == 500

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()
    assert event['exception']['type'] == 'KeyError'
    assert event['tags'] == {'mechanism': 'starlette', 'item': '9', 'route': '/items/{item_id}'}
    request = event['metadata']['request']
    assert (request['method'], request['url'], request['query_string']) == ('GET', f'{url}/items/9', 'verbose=1')
    assert request['headers']['X-Trace'] == 't-1'
    assert 'Cookie' not in request['headers'] and 'Authorization' not in request['headers']


def test_concurrent_fastapi_requests_on_one_loop_never_see_each_others_user(global_client, server):
    global_client()
    with serve_asgi(make_fastapi_app()) as url:
        results = get_at_once([f'{url}/as/a', f'{url}/as/b'])

    assert results == [200, 200]
    assert pulsekit_sdk.flush(5.0)
    events = {event['message']: event for event in server.events()}
    assert events['from a']['user'] == {'id': 'a'}
    assert events['from b']['user'] == {'id': 'b'}


def test_the_generic_asgi_middleware_reports_errors_of_any_asgi_app(global_client, server):
    global_client(auto_enabling_integrations=False)

    async def bare_app(scope, receive, send):
        if scope['type'] != 'http':
            return
        raise RuntimeError('bare ASGI failure')

    with serve_asgi(pulsekit_sdk.PulseKitASGIMiddleware(bare_app)) as url:
        assert get(f'{url}/bare') == 500

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()
    assert event['tags'] == {'mechanism': 'asgi'}
    assert event['metadata']['request']['url'] == f'{url}/bare'


def test_the_generic_wsgi_middleware_reports_errors_and_isolates_requests(global_client, server):
    global_client(auto_enabling_integrations=False)

    def bare_app(environ, start_response):
        if environ['PATH_INFO'] == '/login':
            pulsekit_sdk.set_user({'id': 'u1'})
            pulsekit_sdk.capture_message('logged in')
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'ok']
        raise ZeroDivisionError('bare WSGI failure')

    with serve_wsgi(pulsekit_sdk.PulseKitWSGIMiddleware(bare_app)) as url:
        assert get(f'{url}/login') == 200
        assert get(f'{url}/fail') == 500

    assert pulsekit_sdk.flush(5.0)
    login, failure = server.events()
    assert login['user'] == {'id': 'u1'}
    assert failure['exception']['type'] == 'ZeroDivisionError'
    assert failure['tags'] == {'mechanism': 'wsgi'}
    assert 'user' not in failure, 'the previous request on this thread set a user; this one did not'


def test_init_hooks_only_frameworks_the_app_imported_and_never_imports_one():
    import subprocess
    import sys

    script = (
        'import sys, pulsekit_sdk\n'
        "pulsekit_sdk.init(endpoint='http://127.0.0.1:9', api_key='pk_x')\n"
        "print(sorted(m for m in ('django', 'flask', 'starlette') if m in sys.modules),"
        ' pulsekit_sdk.integrations.enabled_frameworks())\n'
        'import flask\n'
        "pulsekit_sdk.init(endpoint='http://127.0.0.1:9', api_key='pk_x')\n"
        'print(pulsekit_sdk.integrations.enabled_frameworks())\n'
    )
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == '[] []', 'installed frameworks were imported or hooked without the app using them'
    assert second == "['flask']"
