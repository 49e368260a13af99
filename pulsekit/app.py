"""Assembles one PulseKit instance: API routers, dashboard pages, start-up and shut-down hooks.

Everything is registered inside `build()`, because NiceGUI's test plugin re-runs the main
file for every test after resetting its globals; a module that registered routes at import
time would lose them from the second test on.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI
from nicegui import app as ui_app
from nicegui import ui
from nicegui.storage import Storage

from . import __version__, pages
from .alerts.engine import AlertEngine
from .api import install_api, openapi, sentry
from .api.cors import IngestCors
from .api.errors import install_error_handlers
from .api.lane import IngestLane
from .api.middleware import BodySizeLimit
from .api.sentry import SentryCors
from .config import Settings, check_secret_key_base
from .env_admin import create_env_admin
from .retention import run_retention_job
from .services import Services, start_services
from .sessions import session_cookie_options

log = logging.getLogger(__name__)


def build(settings: Settings, app: FastAPI | None = None) -> FastAPI:
    """Register routes, pages and lifecycle hooks on `app` (default: NiceGUI's own app, as in tests)."""
    target = app or ui_app
    install_api(target, fast_routes=[*sentry.routes, *openapi.routes])
    install_error_handlers(target, http_errors=target is not ui_app)
    pages.register(settings)

    def startup() -> None:
        # Synchronous on purpose: it must finish before the first request is served.
        services = start_services(settings)
        target.state.services = services
        ui_app.state.services = services
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            services.flush_key_use, 'interval', seconds=settings.key_touch_interval_s, max_instances=1, coalesce=True
        )
        scheduler.add_job(
            run_retention_job, 'interval', args=[services], seconds=settings.retention_interval_s,
            next_run_time=datetime.now(UTC) + timedelta(seconds=settings.retention_first_run_s),
            max_instances=1, coalesce=True,
        )  # fmt: skip
        alerts = AlertEngine(services)
        alerts.start(scheduler)
        services.extras['alerts'] = alerts
        scheduler.start()
        services.extras['scheduler'] = scheduler
        log.info('PulseKit %s ready on %s', __version__, settings.public_url)

    def shutdown() -> None:
        services: Services | None = getattr(target.state, 'services', None)
        if services is None:
            return
        scheduler = services.extras.get('scheduler')
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        alerts = services.extras.get('alerts')
        if alerts is not None:
            alerts.stop_sync()
        services.close()  # drains the writer: every accepted request is committed

    ui_app.on_startup(startup)
    ui_app.on_shutdown(shutdown)
    return target


class PulseKitApp(FastAPI):
    """Our FastAPI app, with the ingest lane (api/lane.py) in front of its middleware stack."""

    lane: IngestLane | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self.lane is not None and self.lane.takes(scope):
            scope['app'] = self  # as Starlette sets it: the endpoints find the services through it
            return await self.lane(scope, receive, send)
        return await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    """The production app: our FastAPI app with the API, NiceGUI mounted on it (see ARCHITECTURE.md, Serving)."""
    check_secret_key_base(settings)  # production only; commands such as `pulsekit backup` do not sign sessions
    api_app = PulseKitApp(
        title='PulseKit',
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # We export no OpenTelemetry; checking for a provider on every request cost the ingest path ~5%.
        telemetry={'tracing': False, 'metrics': False, 'logs': False},
    )
    # Before anything serves: a bad PULSEKIT_ADMIN_* stops start-up here with a one-line error, where
    # NiceGUI's start-up hooks would only log it and serve on.
    create_env_admin(settings)
    build(settings, api_app)
    api_app.lane = IngestLane(settings.max_body_bytes)
    api_app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    api_app.add_middleware(SentryCors)  # outermost: even a 413 reaches browser SDKs readable
    api_app.add_middleware(IngestCors)  # preflights of the ingest lane's paths (the lane serves only their POSTs)
    if not os.environ.get('NICEGUI_STORAGE_PATH'):
        # Dashboard sessions live in the data folder, so a restart (or a new container on the same
        # volume) keeps everyone logged in; they are signed with the instance's secret.
        Storage.path = (settings.data_dir / 'sessions').resolve()
        ui_app.storage = Storage()
    ui.run_with(
        api_app,
        title=settings.instance_name,
        favicon='📈',
        dark=None,
        storage_secret=settings.load_secret(),
        session_middleware_kwargs=session_cookie_options(settings.public_url),
        show_welcome_message=False,
    )
    return api_app
