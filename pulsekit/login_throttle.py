"""Slows down password guessing: after a few failures per e-mail or per IP, logins wait.

In memory (one process): a restart forgets, which is acceptable for a small team's server.
The wait doubles with each further failure, up to a cap, and a success clears the e-mail.

An attempt is counted when it starts (`begin_attempt`), before its password is hashed, and
taken back by a success: counted only after the hash, twelve attempts sent at once all passed
the check while none had failed yet, and twelve passwords were tried instead of three.
"""

from __future__ import annotations

import threading
import time

FREE_FAILURES = 3  # failures before any wait
BASE_DELAY_S = 2.0  # wait after the first counted failure, seconds
MAX_DELAY_S = 300.0  # cap, seconds
FORGET_AFTER_S = 3600.0  # failures older than this no longer count, seconds
MAX_TRACKED = 10_000  # bound memory: a scanner cannot grow it without limit


class LoginThrottle:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # key → (count, last failure time)

    @staticmethod
    def _keys(email: str, ip: str) -> list[str]:
        return [f'email:{(email or "").strip().lower()}', f'ip:{ip or "?"}']

    def retry_after_s(self, email: str, ip: str) -> float:
        """Seconds to wait before the next attempt for this e-mail or IP may be checked (0: go ahead)."""
        with self._lock:
            return self._wait(email, ip, self.clock())

    def begin_attempt(self, email: str, ip: str) -> float:
        """0 and the attempt counted as a failure until it succeeds, or the seconds to wait (nothing counted)."""
        with self._lock:  # check and count in one step: simultaneous attempts see each other
            wait = self._wait(email, ip, self.clock())
            if wait <= 0:
                self._count_failure(email, ip, self.clock())
        return wait

    def _wait(self, email: str, ip: str, now: float) -> float:
        wait = 0.0
        for key in self._keys(email, ip):
            count, last = self._failures.get(key, (0, 0.0))
            if count < FREE_FAILURES or now - last > FORGET_AFTER_S:
                continue
            delay = min(BASE_DELAY_S * 2 ** (count - FREE_FAILURES), MAX_DELAY_S)
            wait = max(wait, last + delay - now)
        return max(wait, 0.0)

    def record_failure(self, email: str, ip: str) -> None:
        with self._lock:
            self._count_failure(email, ip, self.clock())

    def _count_failure(self, email: str, ip: str, now: float) -> None:  # with the lock held
        if len(self._failures) >= MAX_TRACKED:
            self._failures = {k: v for k, v in self._failures.items() if now - v[1] <= FORGET_AFTER_S}
            if len(self._failures) >= MAX_TRACKED:
                self._failures.clear()
        for key in self._keys(email, ip):
            count, last = self._failures.get(key, (0, 0.0))
            if now - last > FORGET_AFTER_S:
                count = 0
            self._failures[key] = (count + 1, now)

    def record_success(self, email: str, ip: str) -> None:
        """The password matched: the e-mail starts afresh, and the IP's counted attempt is taken back."""
        with self._lock:
            self._failures.pop(self._keys(email, ip)[0], None)
            ip_key = self._keys(email, ip)[1]
            count, last = self._failures.get(ip_key, (0, 0.0))
            if count > 1:
                self._failures[ip_key] = (count - 1, last)
            else:
                self._failures.pop(ip_key, None)
