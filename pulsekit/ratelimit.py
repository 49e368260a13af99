"""Per-key token buckets: a key may send `rate` events per second, in bursts up to `burst`."""

from __future__ import annotations

import math
import threading
import time

from .errors import RateLimited


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, clock=time.monotonic):
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key id → (tokens, last refill time)
        self._lock = threading.Lock()

    def take(self, key_id: int, events: int = 1) -> None:
        """Spend `events` tokens of the key's bucket, or raise RateLimited with the wait in seconds."""
        if self.rate_per_s <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            if events > tokens:
                self._buckets[key_id] = (tokens, now)
                wait_s = (min(events, self.burst) - tokens) / self.rate_per_s
                raise RateLimited(
                    f'this key sends more than {self.rate_per_s:g} events/s', retry_after_s=max(1, math.ceil(wait_s))
                )
            self._buckets[key_id] = (tokens - events, now)
