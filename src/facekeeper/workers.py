"""Where work runs: on the event loop, in the inference pool or in the database pool. Decided here only.

Routers say what kind of work they need; this module picks the thread. The rules:
- models (decode, detect, embed, plugins) run in the bounded inference pool, one image per worker;
- SQL, index searches and other vector arithmetic run in the database pool, so a database wait (SQLite's
  `BEGIN IMMEDIATE`) never holds an inference worker and never queues behind images;
- loading or catching up a collection runs in its own small pool (`collection_loads`, handed to the
  collections' follower): one big load never delays searches of another service, nor holds a worker;
- the event loop keeps only work too small to be worth a thread hop (the API-key check on local SQLite).

Both pools are asyncio executors: when a request is cancelled (its client went away, or its deadline
passed) work still waiting in a queue is dropped before it starts. Work already running finishes in its
thread; its result is discarded.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from facekeeper.inference.pool import InferencePool

P = ParamSpec("P")
T = TypeVar("T")

# Below this many bytes a JSON body is parsed on the event loop: under ~1 ms, less than a thread hop.
SMALL_JSON_BYTES = 64 * 1024
COLLECTION_LOADERS = 2


class Workers:
    def __init__(self, inference_workers: int, database_workers: int, *, local_database: bool) -> None:
        self.inference_pool = InferencePool(inference_workers)
        self._database = ThreadPoolExecutor(max_workers=database_workers, thread_name_prefix="database")
        self.collection_loads = ThreadPoolExecutor(max_workers=COLLECTION_LOADERS, thread_name_prefix="collection-load")
        self.local_database = local_database

    async def inference(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Model work: waits for one of the inference workers."""
        return await self.inference_pool.run(fn, *args, **kwargs)

    async def database(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """SQL, index and vector work: never behind the models, never on the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._database, functools.partial(fn, *args, **kwargs))

    async def lookup(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A one-row indexed read on every request: ~40 us on a local SQLite file, cheaper on the loop than
        a thread hop; a networked database may stall, so it goes to the database pool."""
        if self.local_database:
            return fn(*args, **kwargs)
        return await self.database(fn, *args, **kwargs)

    async def parse(self, size_bytes: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Parsing a request body: on the loop when small, in the database pool when it would block it."""
        if size_bytes <= SMALL_JSON_BYTES:
            return fn(*args, **kwargs)
        return await self.database(fn, *args, **kwargs)

    def shutdown(self) -> None:
        """Drop what is queued; what runs finishes (each job is bounded: see docs/security.md)."""
        self.inference_pool.shutdown(wait=False)
        self._database.shutdown(wait=False, cancel_futures=True)
        self.collection_loads.shutdown(wait=False, cancel_futures=True)
