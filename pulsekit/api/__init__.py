"""Thin HTTP routers: parse, call one domain function, render. Installed by `install_api()`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route

from ..errors import MethodNotAllowed, NotFound
from . import alerts, events, health, manage, read
from .bodies import refuse_nul_in_url

METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']


def install_api(app: FastAPI, *routers: APIRouter, fast_routes: list[BaseRoute] | None = None) -> None:
    """Add every API route to `app`: the hot ingest routes first, then the routers, then a catch-all so
    unknown /api/… paths answer JSON 404 (or 405), never NiceGUI's HTML page."""
    hot = [*events.routes, *(fast_routes or [])]
    app.router.routes.extend(hot)
    module_routers = (health.router, read.router, manage.router, alerts.router, *routers)
    known_routes = hot + [r for m in module_routers for r in m.routes if isinstance(r, Route)]
    router = APIRouter()
    for module_router in module_routers:
        router.include_router(module_router, dependencies=[Depends(refuse_nul_in_url)])

    @router.api_route('/api/{path:path}', methods=METHODS, include_in_schema=False)
    async def unknown_api_path(request: Request, path: str):
        for route in known_routes:
            match, _ = route.matches(request.scope)
            if match == Match.PARTIAL:  # the path exists with other methods
                allowed = ', '.join(sorted(route.methods or ()))
                raise MethodNotAllowed(f'{request.method} is not allowed here; use {allowed}')
        raise NotFound(f'no API endpoint /api/{path}')

    app.include_router(router)
