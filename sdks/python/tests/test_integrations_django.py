"""Django, served over real HTTP by wsgiref: errors Django turns into 500 pages, the route, the user."""

from __future__ import annotations

import sys
import types

import django  # a test dependency (sdks/python[test]): missing, it fails the run rather than skip
from webservers import get, serve_wsgi

import pulsekit_sdk


def _configure_django() -> None:
    # Imported here, not at the top: Django's lazy settings object, once it exists unconfigured in a
    # process, breaks NiceGUI's start-up scan of live objects (when these tests share a run with the server's).
    from django.conf import settings

    if settings.configured:
        return
    urls = types.ModuleType('pulsekit_test_urls')
    sys.modules['pulsekit_test_urls'] = urls
    settings.configure(
        DEBUG=False,
        SECRET_KEY='test-only',
        ALLOWED_HOSTS=['127.0.0.1'],
        ROOT_URLCONF='pulsekit_test_urls',
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.http import HttpResponse
    from django.urls import path

    class User:
        pk = 31
        email = 'ada@example.com'
        is_authenticated = True

        def get_username(self):
            return 'ada'

    def invoice(request, number):
        request.user = User()  # what django.contrib.auth's middleware sets
        pulsekit_sdk.set_tag('invoice', number)
        raise ValueError(f'invoice {number} is corrupt')

    def ping(request):
        pulsekit_sdk.set_tag('leaky', 'yes')
        return HttpResponse('pong')

    urls.urlpatterns = [path('invoices/<int:number>/', invoice), path('ping/', ping)]


def wsgi_app():
    _configure_django()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def test_a_django_500_is_reported_once_with_route_user_and_request(global_client, server):
    global_client()
    with serve_wsgi(wsgi_app()) as url:
        assert get(f'{url}/ping/') == 200
        assert get(f'{url}/invoices/7/', {'Authorization': 'Basic eDp5', 'User-Agent': 'shop-test'}) == 500

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()  # django.request also logs it: still one event
    assert event['exception']['type'] == 'ValueError'
    assert event['tags'] == {'mechanism': 'django', 'invoice': '7', 'route': 'invoices/<int:number>/'}
    assert event['user'] == {'id': '31', 'username': 'ada'}  # no email without send_default_pii
    request = event['metadata']['request']
    assert (request['method'], request['url']) == ('GET', f'{url}/invoices/7/')
    assert request['headers']['User-Agent'] == 'shop-test'
    assert 'Authorization' not in request['headers']
    assert event['stacktrace']['frames'][-1]['function'] == 'invoice'


def test_with_send_default_pii_the_users_email_is_sent(global_client, server):
    global_client(send_default_pii=True)
    with serve_wsgi(wsgi_app()) as url:
        get(f'{url}/invoices/8/')

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()
    assert event['user'] == {'id': '31', 'username': 'ada', 'email': 'ada@example.com', 'ip_address': '127.0.0.1'}
