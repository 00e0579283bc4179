"""Liveness and readiness for load balancers and orchestrators.

Readiness means a request would be served now, without a cold start: the database answers and the models
are in memory. A probe must stay cheap and must never hang, so the database check has a deadline and the
model check never waits: the first probe starts loading the models in the inference pool and answers
"loading" until they are in memory.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from facekeeper.errors import FacekeeperError
from facekeeper.inference.pool import InferencePool

OK = "ok"
LOADING = "loading"


class Pingable(Protocol):
    def ping(self) -> str | None:
        """None when reachable, else the reason."""
        ...


class Loadable(Protocol):
    def load(self) -> None: ...


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok" or why not
    models: str  # "ok", "loading" or why not

    @property
    def ready(self) -> bool:
        return self.database == OK and self.models == OK


class HealthService:
    def __init__(
        self,
        db: Pingable,
        models: Loadable,
        pool: InferencePool,
        *,
        models_loaded: bool = False,
        database_timeout_s: float = 2.0,
    ) -> None:
        self.db = db
        self.models = models
        self.pool = pool
        self.database_timeout_s = database_timeout_s
        self._lock = threading.Lock()
        self._loading: Future[None] | None = None
        self._loaded = models_loaded  # True after `preload_models`: ready from the first probe

    async def readiness(self) -> Readiness:
        return Readiness(await self._database(), self._models())

    async def _database(self) -> str:
        # asyncio's executor, not Starlette's: a cancelled wait returns at the deadline even though the
        # thread stays blocked on a dead connection until the driver gives up.
        try:
            problem = await asyncio.wait_for(asyncio.to_thread(self.db.ping), self.database_timeout_s)
        except TimeoutError:
            return f"no answer within {self.database_timeout_s:g} s"
        return problem or OK

    def _models(self) -> str:
        with self._lock:
            if self._loaded:
                return OK
            if self._loading is None:
                # Loading is idempotent: cheap when requests or `preload_models` already loaded them.
                self._loading = self.pool.submit(self.models.load)
            if not self._loading.done():
                return LOADING
            failure = self._loading.exception()
            if failure is None:
                self._loaded = True
                return OK
            self._loading = None  # try again on the next probe: the files may have been fixed
            return failure.message if isinstance(failure, FacekeeperError) else f"{type(failure).__name__}: {failure}"
