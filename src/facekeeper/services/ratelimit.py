"""Failed sign-in attempts, counted per key (an email, a client address) in a sliding window.

In memory, per process: with `serve --workers N` an attacker gets at most N times the limit, which still
turns a password guess into hours per thousand tries. A success clears the email's count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

MAX_KEYS = 10_000


class AttemptLimiter:
    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds until another attempt is allowed for every key, or None when one is allowed now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.max_failures:
                    wait = max(wait, failures[len(failures) - self.max_failures] + self.window_s - now)
                if not failures:
                    self._failures.pop(key, None)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > MAX_KEYS:  # many emails tried once each: forget the expired ones
                expired = [k for k, times in self._failures.items() if not times or times[-1] <= now - self.window_s]
                for key in expired:
                    del self._failures[key]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
