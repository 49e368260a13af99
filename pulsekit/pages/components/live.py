"""Live updates for a page: listen to the writer's commits, refresh at most once per interval.

Whatever the ingest rate (1,000 events/s or more), a page does one refresh per interval; the
messages in between are only counted. The first event after a quiet interval is shown at the next
check (every CHECK_INTERVAL_S), not up to a whole interval later. The subscription ends when the
browser tab goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from nicegui import ui

from ...bus import CommitSummary
from ..layout import services

REFRESH_INTERVAL_S = 1.0
CHECK_INTERVAL_S = 0.1  # a server-side timer only: nothing is sent to the browser unless a refresh is due


class LiveFeed:
    def __init__(
        self,
        on_refresh: Callable[[list[dict]], Awaitable[None] | None],
        matches: Callable[[dict], bool] = lambda event: True,
        interval_s: float = REFRESH_INTERVAL_S,
        max_kept_events: int = 200,
    ):
        self.on_refresh = on_refresh
        self.matches = matches
        self.max_kept_events = max_kept_events
        self.is_paused = False
        self.pending: list[dict] = []  # the newest matching event summaries since the last refresh (bounded)
        self.pending_count = 0
        self._running = False
        self.interval_s = interval_s
        self._last_refresh = float('-inf')  # time.monotonic() of the last refresh
        self.refresh_count = 0
        unsubscribe = services().bus.subscribe(self._on_commit, loop=asyncio.get_running_loop())
        ui.context.client.on_delete(unsubscribe)
        self.timer = ui.timer(min(CHECK_INTERVAL_S, interval_s), self._tick).mark('live-feed')
        self.timer.feed = self  # type: ignore[attr-defined]  (tests read refresh_count)

    def _on_commit(self, summary: CommitSummary) -> None:
        matching = [e for e in summary.events if self.matches(e)]
        if not matching:
            return
        self.pending_count += len(matching)
        self.pending.extend(matching)
        if len(self.pending) > self.max_kept_events:
            del self.pending[: len(self.pending) - self.max_kept_events]

    async def _tick(self) -> None:
        if self.is_paused or not self.pending_count or self._running:
            return
        if time.monotonic() - self._last_refresh < self.interval_s:
            return
        self._last_refresh = time.monotonic()
        events, self.pending, self.pending_count = self.pending, [], 0
        self._running = True
        self.refresh_count += 1
        try:
            result = self.on_refresh(events)
            if asyncio.iscoroutine(result):
                await result
        finally:
            self._running = False

    def set_paused(self, paused: bool) -> None:
        self.is_paused = paused
