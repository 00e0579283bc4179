"""Failed sign-in attempts, counted per key (an email, a client address) in a sliding window.

Counted in the database (`storage/sign_in_failures.py`), so every process of `serve --workers N` and every
host on one PostgreSQL share one count, and a restart forgets nothing. The clock is the wall clock: the
processes share no monotonic one. Keys are stored as their SHA-256, never as emails or addresses. A
success clears the email's count.

Checking and counting are separate transactions (the password check runs in between), so a burst of
simultaneous attempts may overshoot the limit by the number that checked before any was counted, as
threads of one process could before.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from facekeeper.storage.db import Database
from facekeeper.storage.sign_in_failures import SignInFailureRepository


def key_hash(key: str) -> str:
    """What the table holds instead of the key: a copy of the database names no email or address."""
    return hashlib.sha256(key.encode()).hexdigest()


class AttemptLimiter:
    def __init__(
        self, db: Database, max_failures: int, window_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock  # seconds since the epoch

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds until another attempt is allowed for every key, or None when one is allowed now."""
        now = self._now()
        since = now - timedelta(seconds=self.window_s)
        wait = 0.0
        with self.db.transaction() as session:
            failures = SignInFailureRepository(session)
            for key in keys:
                newest = failures.newest(key_hash(key), since, self.max_failures)
                if len(newest) >= self.max_failures:  # allowed again when the oldest of these leaves the window
                    wait = max(wait, (newest[-1] - since).total_seconds())
        wait = min(wait, self.window_s)  # a host whose clock runs ahead never locks others out for longer
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, keys: Iterable[str]) -> None:
        """Counts a failure for every key, and forgets failures that left the window (a bounded batch)."""
        now = self._now()
        with self.db.transaction() as session:
            failures = SignInFailureRepository(session)
            failures.prune(now - timedelta(seconds=self.window_s))
            failures.add((key_hash(key) for key in keys), now)

    def succeeded(self, key: str) -> None:
        with self.db.transaction() as session:
            SignInFailureRepository(session).clear(key_hash(key))
