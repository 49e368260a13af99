"""GET /api/v1/health: no key; for load balancers, Docker and humans."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .. import __version__
from ..storage import storage_status
from .deps import services
from .responses import json_response

router = APIRouter()
log = logging.getLogger(__name__)
HEALTH_DB_TIMEOUT_S = 2.0


@router.get('/api/v1/health')
async def health(request: Request) -> Response:
    svc = services(request)

    def ping() -> None:
        svc.db.execute_sql('SELECT 1').fetchone()

    database = 'ok'
    try:
        await asyncio.wait_for(asyncio.to_thread(ping), HEALTH_DB_TIMEOUT_S)
    except Exception as exc:  # any failure means "not healthy"; say so instead of a 500
        log.warning('health check: database unavailable: %s', exc)
        database = 'unavailable'
    is_ok = database == 'ok' and svc.writer.is_running
    body = {
        'status': 'ok' if is_ok else 'unavailable',
        'database': database,
        'writer': 'running' if svc.writer.is_running else 'stopped',
        'writer_queue_depth': svc.writer.queue_depth,
        'version': __version__,
    }
    if svc.checkpointer is not None:  # SQLite: the disk is ours to watch
        storage = storage_status(svc.checkpointer, svc.settings.min_free_disk_mb)
        body.update(
            wal_bytes=storage.wal_bytes,
            disk_free_bytes=storage.free_disk_bytes,
            search_index_lag_events=svc.writer.search_index_lag,
        )
        if is_ok and storage.low_disk_reason:
            is_ok = False
            body.update(status='degraded', reason=storage.low_disk_reason)
    return json_response(body, 200 if is_ok else 503)
