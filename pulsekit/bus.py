"""In-process pub/sub: the writer announces what it committed; pages and alert evaluators listen.

Publishing happens on the writer thread; each subscriber names the asyncio loop it wants to
be called on, so UI code never runs off NiceGUI's loop (NiceGUI's `Event.emit` is not
thread-safe). Subscribers without a loop are called on the publishing thread and must be quick.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommitSummary:
    """What one writer commit stored: small event summaries plus issue changes."""

    events: list[dict]  # id, project_id, issue_id, type, level, message, environment, release, tags, timestamp
    new_issue_ids: list[int] = field(default_factory=list)
    regressed_issue_ids: list[int] = field(default_factory=list)
    # None: committed by this process. Else the id of the replica that committed it (bus_postgres.py relays
    # other replicas' commits for live pages; alert evaluation stays with the replica that committed).
    origin: str | None = None

    @property
    def project_ids(self) -> set[int]:
        return {e['project_id'] for e in self.events}


class Bus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[Callable, asyncio.AbstractEventLoop | None]] = []

    def subscribe(self, callback: Callable, loop: asyncio.AbstractEventLoop | None = None) -> Callable[[], None]:
        """Call `callback(message)` for every message (on `loop` when given); returns an unsubscribe function."""
        entry = (callback, loop)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, message) -> None:
        """Deliver a message to every subscriber; a failing subscriber never stops the others."""
        with self._lock:
            subscribers = list(self._subscribers)
        for callback, loop in subscribers:
            if loop is None:
                try:
                    callback(message)
                except Exception:
                    log.exception('bus subscriber %r failed', callback)
            elif not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(callback, message)
                except RuntimeError:  # the loop closed between the check and the call
                    pass

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)
