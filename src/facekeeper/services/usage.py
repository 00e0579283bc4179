"""Face API requests per service per UTC day, counted cheaply.

A request adds one to a counter in this process's memory (a dict increment under a lock, about a
microsecond: see benchmarks/usage.py); a background thread adds the counters to the database every
`flush_interval_s` with one upsert, and at shutdown. Statistics read the database plus this process's
counters not yet written, so one process's own figures are always current and another process's
arrive within the interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from facekeeper.errors import FacekeeperError
from facekeeper.storage.admin import UsageRepository
from facekeeper.storage.db import Database

logger = logging.getLogger(__name__)
SECONDS_PER_DAY = 86400
_EPOCH = date(1970, 1, 1)


def _date(day_number: int) -> date:
    return _EPOCH + timedelta(days=day_number)


class UsageCounter:
    def __init__(self, db: Database, flush_interval_s: float = 10.0) -> None:
        self.db = db
        self.flush_interval_s = flush_interval_s
        # (service id, UTC day number since the epoch): time.time() // 86400 costs a tenth of building a date
        self._pending: defaultdict[tuple[str, int], int] = defaultdict(int)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, service_id: str) -> None:
        """One request of the service, now (the hot path: no I/O)."""
        with self._lock:
            self._pending[(service_id, int(time.time() // SECONDS_PER_DAY))] += 1

    def _take(self) -> dict[tuple[str, int], int]:
        with self._lock:
            taken, self._pending = self._pending, defaultdict(int)
        return taken

    def flush(self) -> None:
        """Write the counters; on failure they are kept for the next try."""
        taken = self._take()
        if not taken:
            return
        try:
            with self.db.transaction(write=True) as session:
                UsageRepository(session).add((service, _date(day), n) for (service, day), n in taken.items())
        except IntegrityError:  # a service deleted between the check and the write: drop this batch
            logger.warning("request counts of a deleted service dropped")
        except FacekeeperError:
            with self._lock:
                for key, n in taken.items():
                    self._pending[key] += n
            logger.warning("request counts not written; kept for the next try")

    def per_day(self, service_id: str, since: date) -> dict[date, int]:
        with self.db.transaction() as session:
            counts = UsageRepository(session).per_day(service_id, since)
        with self._lock:
            pending = [(_date(day), n) for (service, day), n in self._pending.items() if service == service_id]
        for day, n in pending:
            if day >= since:
                counts[day] = counts.get(day, 0) + n
        return counts

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="usage-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except Exception:  # never let the thread die: the next round tries again
                logger.exception("request counts flush failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.flush()
        except Exception:
            logger.exception("request counts not written at shutdown")
