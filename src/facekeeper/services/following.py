"""How a process keeps its in-memory collections in step with the database.

- First use: a full load, streamed in batches into arrays sized once from a count.
- Behind the request's view: replay the log entries after the copy's position (reading only the vectors
  of added examples). A full load happens instead only when the log no longer holds those entries
  (pruned, or written before the log existed), when one is a reset, or when there are more of them than
  a quarter of the collection (a load is then cheaper).
- Each service has its own lock, and loads run on a small pool of their own: a load of one collection
  never delays searches of another, nor runs on an inference worker.
- Concurrent requests for a collection being loaded wait for that one load instead of queueing their own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from facekeeper.domain import ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.index.base import IndexedCollection, LoadingCollection, VectorIndex
from facekeeper.index.changes import Added, Change, Reset, decode
from facekeeper.storage.change_log import ChangeLogRepository
from facekeeper.storage.collection_rows import CollectionRows
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ServiceRepository

logger = logging.getLogger(__name__)

LOAD_BATCH_ROWS = 8192
MIN_REPLAY_ENTRIES = 1000  # always replay up to this many entries, whatever the collection's size
LOADER_THREADS = 2


class CollectionEvents(Protocol):
    """What the follower reports (the metrics implement it)."""

    def loaded(self, full: bool, seconds: float) -> None: ...

    def lag(self, service: str, entries: int) -> None: ...


class _NoEvents:
    def loaded(self, full: bool, seconds: float) -> None:
        pass

    def lag(self, service: str, entries: int) -> None:
        pass


class CollectionFollower:
    def __init__(
        self,
        db: Database,
        index: VectorIndex,
        events: CollectionEvents | None = None,
        approximate_services: frozenset[str] = frozenset(),
        loads: Executor | None = None,
        calculators: Callable[[str], str] | None = None,
    ) -> None:
        """`calculators` maps an embedder's registry name to the calculator version its vectors carry:
        a load keeps only the examples made by the service's embedder (None: keep every example)."""
        self.db = db
        self.calculators = calculators
        self._loaded_calculators: dict[str, str | None] = {}
        self.index = index
        self.events: CollectionEvents = events or _NoEvents()
        self.approximate_services = approximate_services
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._inflight: dict[str, Future[IndexedCollection]] = {}
        self._records: dict[str, ServiceRecord] = {}  # the newest record seen of each service followed
        # The app hands in the pool `workers.py` chose; without one (CLI, tests) the follower owns its own.
        self._owns_executor = loads is None
        self._executor = loads or ThreadPoolExecutor(max_workers=LOADER_THREADS, thread_name_prefix="collection-load")

    def _calculator(self, session: Session, service_id: str) -> str | None:
        """The calculator of the service's embedder as the snapshot sees it (not as a request's record
        saw it: a switch of embedder may have committed since)."""
        if self.calculators is None:
            return None
        embedder = ServiceRepository(session).embedder(service_id)
        return self.calculators(embedder) if embedder is not None else None

    def loaded_calculator(self, service_id: str) -> str | None:
        """The calculator of the vectors the held copy of the collection holds (None: not known)."""
        return self._loaded_calculators.get(service_id)

    def _lock_of(self, service_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(service_id, threading.Lock())

    # --- entry points -------------------------------------------------------------------------------

    def current(self, service: ServiceRecord) -> IndexedCollection:
        self._records[service.id] = service
        collection = self.index.get(service.id)
        if collection is not None and collection.position >= service.revision:
            return collection
        return self.catch_up(service, service.revision)

    async def prepare(self, service: ServiceRecord) -> None:
        self._records[service.id] = service
        for _ in range(3):  # a load already running may have started before this request's view
            collection = self.index.get(service.id)
            if collection is not None and collection.position >= service.revision:
                return
            await asyncio.wrap_future(self._load_once(service))

    def _load_once(self, service: ServiceRecord) -> Future[IndexedCollection]:
        with self._locks_guard:
            future = self._inflight.get(service.id)
            if future is None or future.done():
                future = self._executor.submit(self.catch_up, service, service.revision)
                self._inflight[service.id] = future
            return future

    def notified(self, service_id: str, seq: int) -> None:
        """Some process logged change `seq` (PostgreSQL NOTIFY): replay it now, before a request needs it."""
        collection = self.index.get(service_id)
        record = self._records.get(service_id)
        if collection is not None and record is not None and collection.position < seq:
            self._load_once(replace(record, revision=seq))

    def reconnected(self) -> None:
        """Notifications may have been missed: bring every collection held up to the log's head."""
        for service_id, collection in self.index.held().items():
            record = self._records.get(service_id)
            if record is not None:
                self._load_once(replace(record, revision=collection.position + 1))

    def applied_locally(self, service: ServiceRecord, logged: list[tuple[int, Change]]) -> None:
        """After a local commit: apply the changes in hand when they follow the held copy. When its lock
        is busy (a load or replay is running), leave them to the log rather than wait."""
        lock = self._lock_of(service.id)
        if not lock.acquire(blocking=False):
            return
        try:
            collection = self.index.get(service.id)
            if collection is not None and collection.position == logged[0][0] - 1:
                self.index.apply(service.id, logged)
        finally:
            lock.release()

    # --- following ----------------------------------------------------------------------------------

    def catch_up(self, service: ServiceRecord, view: int) -> IndexedCollection:
        with self._lock_of(service.id):
            collection = self.index.get(service.id)
            if collection is not None and collection.position >= view:
                return collection
            if collection is not None:
                replayed = self._replay(service, collection)
                if replayed is not None:
                    return replayed
            return self._load(service)

    def _replay(self, service: ServiceRecord, collection: IndexedCollection) -> IndexedCollection | None:
        started = time.perf_counter()
        service_id = service.id
        with self.db.snapshot() as session:
            log = ChangeLogRepository(session)
            head = log.head(service_id)
            if head is None:
                return None
            behind = head - collection.position
            self.events.lag(service.name, behind)
            if behind > max(MIN_REPLAY_ENTRIES, collection.size // 4):
                return None
            entries = log.entries(service_id, collection.position, head)
            if len(entries) != behind:
                return None  # pruned, or from before the log existed
            if not entries:
                return collection  # nothing new (a check after a reconnect)
            changes: list[tuple[int, Change]] = [(entry.seq, decode(entry.kind, entry.payload)) for entry in entries]
            if any(isinstance(change, Reset) for _, change in changes):
                return None
            added = [change.image_id for _, change in changes if isinstance(change, Added)]
            calculator = self._calculator(session, service_id)
            if calculator != self._loaded_calculators.get(service_id):
                return None  # the embedder changed under the held copy: only a load describes that
            vectors = CollectionRows(session, calculator).vectors(service_id, added) if added else {}
        filled = [
            (seq, replace(change, vector=vectors.get(change.image_id)) if isinstance(change, Added) else change)
            for seq, change in changes
        ]
        if not self.index.apply(service_id, filled):
            return None
        self.events.loaded(full=False, seconds=time.perf_counter() - started)
        return self.index.get(service_id)

    def _load(self, service: ServiceRecord) -> IndexedCollection:
        started = time.perf_counter()
        with self.db.snapshot() as session:
            position = ChangeLogRepository(session).head(service.id) or 0
            calculator = self._calculator(session, service.id)
            rows = CollectionRows(session, calculator)
            count = rows.count(service.id)
            names = rows.subject_names(service.id)
            collection: LoadingCollection | None = None
            for batch in rows.stream(service.id, LOAD_BATCH_ROWS):
                matrix = _batch_matrix(batch.embeddings)
                if collection is None:
                    collection = self.index.new_collection(position, matrix.shape[1], count)
                elif collection.dimension not in (None, matrix.shape[1]):
                    raise _dimension_mismatch(collection.dimension or 0, matrix.shape[1])
                collection.load_rows(batch.image_ids, [names[s] for s in batch.subject_ids], matrix)
        if collection is None:
            collection = self.index.new_collection(position, 0, 0)
        self.index.install(service.id, collection, approximate=self._approximate(service))
        self._loaded_calculators[service.id] = calculator
        seconds = time.perf_counter() - started
        self.events.loaded(full=True, seconds=seconds)
        logger.info("loaded %d examples of service %s in %.2f s", collection.size, service.name, seconds)
        return collection

    def _approximate(self, service: ServiceRecord) -> bool:
        return "*" in self.approximate_services or service.name in self.approximate_services

    def shutdown(self) -> None:
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _batch_matrix(embeddings: list[bytes]) -> np.ndarray:
    sizes = {len(e) for e in embeddings}
    if len(sizes) != 1:
        # Examples from two embedders (a model change without migration) cannot share a matrix.
        raise _dimension_mismatch(min(sizes) // 4, max(sizes) // 4)
    return np.frombuffer(b"".join(embeddings), dtype=np.float32).reshape(len(embeddings), -1)


def _dimension_mismatch(given: int, expected: int) -> FacekeeperError:
    return FacekeeperError(Error.EMBEDDING_DIMENSION_MISMATCH, given=given, expected=expected)
