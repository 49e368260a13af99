"""How fast the machine's CPU is right now: a fixed piece of work, timed every few seconds.

On a shared VM the same code takes a different amount of CPU time from one minute to the next
(a fixed Python loop: 157-298 ms within 40 s on an idle machine, docs/notes.md). A benchmark that
reads a ratio across minutes needs that drift measured in the same run, beside the server.

The work is what the server's writer does, minus the disk: JSON-encode ~2.5 KB events and insert
them into an in-memory SQLite table. It is timed by this thread's own CPU time, so waiting for the
GIL or for a core does not count, only how long the CPU took to do it. Its memory is the same
few hundred KB each time, so it reads the CPU's speed, not the cost of fresh page-cache pages.
One probe takes ~4 ms of CPU every 2 s: 0.2 % of a core.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from typing import Any

from harness import BackgroundThread


class CpuProbe(BackgroundThread):
    """(seconds since start, CPU ms of one probe), every `every` seconds, on a thread."""

    def __init__(self, events: list[dict[str, Any]], every: float = 2.0, rows: int = 200) -> None:
        self._events, self._every, self._rows = events, every, rows
        self.samples: list[tuple[float, float]] = []
        self._t0 = time.monotonic()
        super().__init__()

    def work(self) -> None:
        db = sqlite3.connect(':memory:')
        try:
            db.execute('CREATE TABLE events (n INTEGER PRIMARY KEY, id TEXT, body TEXT)')
            db.execute('CREATE INDEX events_id ON events (id)')
            events = self._events
            rows = ((n, f'{n:032x}', json.dumps(events[n % len(events)])) for n in range(self._rows))
            db.executemany('INSERT INTO events VALUES (?, ?, ?)', rows)
            db.commit()
        finally:
            db.close()

    def _run(self) -> None:
        self.work()  # the first one pays for imports and allocations
        while not self._stop.wait(self._every):
            started = time.thread_time()
            self.work()
            self.samples.append((time.monotonic() - self._t0, (time.thread_time() - started) * 1000))

    def median_ms(self, start: float, end: float) -> float | None:
        """The median probe between two times since start (None: no probe ran then)."""
        window = [ms for t, ms in self.samples if start <= t <= end]
        return statistics.median(window) if window else None
