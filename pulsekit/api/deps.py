"""Shared request helpers for the API routers: the services, the key and its permission."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from ..projects import KeyInfo
from ..services import Services


def services(request: Request) -> Services:
    return request.app.state.services


def key_from_headers(request: Request) -> str | None:
    key = request.headers.get('x-pulsekit-key')
    if key:
        return key.strip()
    auth = request.headers.get('authorization', '')
    scheme, _, token = auth.partition(' ')
    return token.strip() if scheme.lower() == 'bearer' else None


async def authenticate(request: Request, permission: str) -> KeyInfo:
    """The request's key, verified (cache first, the database off the loop on a miss), with `permission`."""
    return await verify_key(request, key_from_headers(request), permission)


async def verify_key(request: Request, raw: str | None, permission: str) -> KeyInfo:
    """Verify a key found elsewhere than the native headers (e.g. Sentry's X-Sentry-Auth)."""
    keys = services(request).keys
    info = keys.verify_cached(raw)
    if info is None:
        info = await asyncio.to_thread(keys.verify, raw)
    info.require(permission)
    return info


async def run_db(fn, *args, **kwargs):
    """Run a (synchronous, Peewee) read off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)
