"""Starlette and FastAPI: every application gets the ASGI middleware without any code change."""

from __future__ import annotations

from typing import Any

from .asgi import PulseKitASGIMiddleware

_original: dict = {}


def install() -> None:
    from starlette.applications import Starlette

    if 'call' in _original:
        return
    original_call = Starlette.__call__
    _original['call'] = original_call

    async def __call__(self: Any, scope: dict, receive: Any, send: Any) -> Any:
        async def app(scope: dict, receive: Any, send: Any) -> Any:
            return await original_call(self, scope, receive, send)

        return await PulseKitASGIMiddleware(app, mechanism='starlette')(scope, receive, send)

    Starlette.__call__ = __call__


def uninstall() -> None:
    if 'call' not in _original:
        return
    from starlette.applications import Starlette

    Starlette.__call__ = _original.pop('call')
