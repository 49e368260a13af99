"""Flask: a scope per request, the route and Flask-Login's user on events, and errors Flask turns into 500s.

Flask catches an unhandled error, logs it and answers 500; its `got_request_exception` signal is
where the error is still at hand.
"""

from __future__ import annotations

from typing import Any

from .hooks import capture_once
from .request import note_route, note_user
from .wsgi import PulseKitWSGIMiddleware

_original: dict = {}


def _on_exception(sender: Any, exception: BaseException, **extra: Any) -> None:
    try:
        from flask import request

        rule = request.url_rule
        note_route(rule.rule if rule is not None else None)
        _note_flask_login_user()
    except Exception:
        pass
    capture_once(exception, level='error', tags={'mechanism': 'flask'})


def _note_flask_login_user() -> None:
    try:
        from flask_login import current_user
    except ImportError:
        return
    if getattr(current_user, 'is_authenticated', False):
        note_user(current_user.get_id(), getattr(current_user, 'username', None), getattr(current_user, 'email', None))


def install() -> None:
    from flask import Flask, got_request_exception

    if 'call' in _original:
        return
    original_call = Flask.__call__
    _original['call'] = original_call

    def __call__(self: Any, environ: dict, start_response: Any) -> Any:
        def app(environ: dict, start_response: Any) -> Any:
            return original_call(self, environ, start_response)

        return PulseKitWSGIMiddleware(app, mechanism='flask')(environ, start_response)

    Flask.__call__ = __call__
    got_request_exception.connect(_on_exception)


def uninstall() -> None:
    if 'call' not in _original:
        return
    from flask import Flask, got_request_exception

    Flask.__call__ = _original.pop('call')
    got_request_exception.disconnect(_on_exception)
