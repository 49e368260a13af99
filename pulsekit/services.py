"""The long-lived objects of one running instance, created at start-up and shared by routers,
pages and jobs: database, bus, writer, key cache, rate limiter."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw

from .bus import Bus
from .bus_postgres import PostgresBusBridge
from .config import Settings
from .db import Checkpointer, is_sqlite, migrate, open_database
from .events.writer import Writer
from .job_locks import JobLocks
from .keys import KeyChangeWatcher
from .projects import KeyCache, record_key_use
from .ratelimit import RateLimiter
from .storage import disk_guard

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: pw.Database
    bus: Bus
    writer: Writer
    keys: KeyCache
    limiter: RateLimiter
    checkpointer: Checkpointer | None = None  # SQLite only
    key_watcher: KeyChangeWatcher | None = None
    bus_bridge: PostgresBusBridge | None = None  # PostgreSQL only: relays commits between replicas
    job_locks: JobLocks = field(default_factory=lambda: JobLocks(None))  # periodic jobs run once across replicas
    extras: dict = field(default_factory=dict)  # features (scheduler, alert dispatcher) keep their handles here

    def flush_key_use(self) -> None:
        """Write the keys' last_used_at in one writer task (not one write per request)."""
        used = self.keys.take_used()
        if used:
            self.writer.run_task(lambda: record_key_use(used))

    def close(self) -> None:
        if self.key_watcher is not None:
            self.key_watcher.stop()
        self.flush_key_use()
        self.writer.stop()
        if self.bus_bridge is not None:
            self.bus_bridge.stop()  # after the writer: its last commits are relayed too
        self.job_locks.close()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.db.close()
        log.info('shutdown complete: writer drained (%d events queued), database closed', self.writer.queue_depth)


def start_services(settings: Settings) -> Services:
    """Open and migrate the database, start the writer: everything ingestion needs."""
    db = open_database(settings)
    with db.connection_context():
        applied = migrate(db)
    if applied:
        log.info('database migrated to version %d', applied[-1])
    bus = Bus()
    writer = Writer(db, bus, settings.writer_queue_max_events, settings.writer_max_batch_events)
    writer.start()
    services = Services(
        settings=settings,
        db=db,
        bus=bus,
        writer=writer,
        keys=KeyCache(settings.key_cache_ttl_s),
        limiter=RateLimiter(settings.rate_limit_events_per_s, settings.rate_limit_burst_events),
    )
    services.key_watcher = KeyChangeWatcher(db)
    services.key_watcher.start()
    if not is_sqlite(db):
        services.bus_bridge = PostgresBusBridge(settings.database_url, bus)
        services.bus_bridge.start()
        services.job_locks = JobLocks(settings.database_url)
    if is_sqlite(db):
        services.checkpointer = Checkpointer(
            Path(db.database),
            on_large_wal=writer.request_wal_restart,
            is_restart_pending=lambda: writer.is_wal_restart_pending,
        )
        services.checkpointer.start()
        writer.storage_guard = disk_guard(services.checkpointer, settings.min_free_disk_mb)
    return services
