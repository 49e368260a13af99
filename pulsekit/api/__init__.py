"""Thin HTTP routers: parse, call one domain function, render. Assembled by `api_router()`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.routing import Match, Route

from ..errors import MethodNotAllowed, NotFound
from . import events, health, read

METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']


def api_router(*extra: APIRouter) -> APIRouter:
    """Every API route, then a catch-all so unknown /api/… paths answer JSON 404, not NiceGUI's HTML page."""
    router = APIRouter()
    module_routers = (health.router, events.router, read.router, *extra)
    for module_router in module_routers:
        router.include_router(module_router)
    known_routes = [r for m in module_routers for r in m.routes if isinstance(r, Route)]

    @router.api_route('/api/{path:path}', methods=METHODS, include_in_schema=False)
    async def unknown_api_path(request: Request, path: str):
        for route in known_routes:
            match, _ = route.matches(request.scope)
            if match == Match.PARTIAL:  # the path exists with other methods
                allowed = ', '.join(sorted(route.methods or ()))
                raise MethodNotAllowed(f'{request.method} is not allowed here; use {allowed}')
        raise NotFound(f'no API endpoint /api/{path}')

    return router
