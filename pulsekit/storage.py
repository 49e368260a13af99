"""Disk use of a SQLite instance: what health reports and what stops ingestion before the disk is full.

SQLite failing with "database or disk is full" in the middle of a commit helps nobody; refusing
new events with a clear 507 while some space is left keeps every acknowledged event safe and
leaves room for checkpoints, retention deletes and VACUUM to free space.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .db import Checkpointer

MB = 1_000_000


@dataclass(frozen=True)
class StorageStatus:
    wal_bytes: int
    free_disk_bytes: int | None
    min_free_disk_bytes: int

    @property
    def low_disk_reason(self) -> str | None:
        """Why ingestion is refused (free space under the reserve), or None."""
        if self.free_disk_bytes is None or self.free_disk_bytes >= self.min_free_disk_bytes:
            return None
        return (
            f"the data directory's disk is nearly full ({self.free_disk_bytes / MB:.0f} MB free, below the "
            f'{self.min_free_disk_bytes / MB:.0f} MB reserve set by PULSEKIT_MIN_FREE_DISK_MB); events are refused '
            'until space is freed'
        )


def free_disk_bytes(path: Path) -> int | None:
    """Free space for unprivileged writers on the disk holding path (one statvfs: about a microsecond)."""
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def storage_status(checkpointer: Checkpointer, min_free_disk_mb: int) -> StorageStatus:
    """The WAL's size at the checkpointer's last round, and the free space now."""
    return StorageStatus(checkpointer.wal_bytes, free_disk_bytes(checkpointer.path.parent), min_free_disk_mb * MB)


def disk_guard(checkpointer: Checkpointer, min_free_disk_mb: int) -> Callable[[], str | None]:
    """For Writer.storage_guard: a reason to refuse events while the disk is nearly full.

    Read on every admission rather than once a second: a second of ingest is tens of MB.
    """
    return lambda: storage_status(checkpointer, min_free_disk_mb).low_disk_reason
