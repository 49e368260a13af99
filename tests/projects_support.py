"""Helpers shared by the projects/keys/retention tests: a real migrated SQLite file and a writer."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pulsekit.bus import Bus
from pulsekit.db import migrate, open_database
from pulsekit.events.ingest import prepare_event
from pulsekit.events.writer import Writer

from .databases import settings_for


@contextmanager
def migrated_db(tmp_path: Path, **writer_options):
    """A fresh migrated SQLite database under tmp_path, with a running writer."""
    settings = settings_for(tmp_path)
    db = open_database(settings)
    db.connect(reuse_if_open=True)
    migrate(db)
    writer = Writer(db, Bus(), **writer_options)
    writer.start()
    try:
        yield db, writer
    finally:
        writer.stop()
        db.close()


def store(writer: Writer, project_id: int, bodies: list[dict], received_at: datetime) -> list[str]:
    """Send event bodies through the same preparation as the API and commit them."""
    return writer.write_sync(project_id, [prepare_event(b, received_at) for b in bodies], timeout_s=30)
