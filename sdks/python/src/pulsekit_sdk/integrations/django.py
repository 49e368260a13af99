"""Django: a scope per request with its data, the resolved route and user, and errors Django turns into 500s.

Django converts an unhandled view error into a 500 response before any WSGI middleware sees it;
its `got_request_exception` signal fires while the error is still being handled.
"""

from __future__ import annotations

import sys
from typing import Any

from ..scope import isolation_scope
from .hooks import capture_once
from .request import note_route, note_user, request_info

_original: dict = {}


def _request_of(request: Any) -> dict | None:
    try:
        url = request.build_absolute_uri(request.path)
    except Exception:  # DisallowedHost and friends: still report the path
        url = request.path
    try:
        return request_info(
            request.method,
            url,
            request.headers.items(),
            request.META.get('QUERY_STRING', ''),
            request.META.get('REMOTE_ADDR'),
        )
    except Exception:
        return None


def _on_exception(sender: Any, request: Any = None, **extra: Any) -> None:
    exc = sys.exc_info()[1]
    if exc is None:
        return
    if request is not None:
        try:
            match = getattr(request, 'resolver_match', None)
            note_route(getattr(match, 'route', None) or getattr(match, 'view_name', None))
            user = getattr(request, 'user', None)
            if user is not None and getattr(user, 'is_authenticated', False):
                note_user(user.pk, user.get_username(), getattr(user, 'email', None), request.META.get('REMOTE_ADDR'))
        except Exception:
            pass
    capture_once(exc, level='error', tags={'mechanism': 'django'})


def install() -> None:
    from django.core.handlers.base import BaseHandler
    from django.core.signals import got_request_exception

    if 'get_response' in _original:
        return
    original, original_async = BaseHandler.get_response, BaseHandler.get_response_async
    _original.update(get_response=original, get_response_async=original_async)

    def get_response(self: Any, request: Any) -> Any:
        with isolation_scope(_request_of(request)):
            return original(self, request)

    async def get_response_async(self: Any, request: Any) -> Any:
        with isolation_scope(_request_of(request)):
            return await original_async(self, request)

    BaseHandler.get_response = get_response
    BaseHandler.get_response_async = get_response_async
    # weak=False: the receiver is a module function, and the dispatch_uid keeps it single.
    got_request_exception.connect(_on_exception, weak=False, dispatch_uid='pulsekit_sdk')


def uninstall() -> None:
    if 'get_response' not in _original:
        return
    from django.core.handlers.base import BaseHandler
    from django.core.signals import got_request_exception

    BaseHandler.get_response = _original.pop('get_response')
    BaseHandler.get_response_async = _original.pop('get_response_async')
    got_request_exception.disconnect(dispatch_uid='pulsekit_sdk')
