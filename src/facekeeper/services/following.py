"""How a process keeps its in-memory collections in step with the database.

- First use: from the service's snapshot file when one exists and the log still covers what happened
  since it was written (checked against the log entry it names, and the example count after catching
  up); else a full load, streamed in batches into arrays sized once from a count, after which a snapshot
  file is written in the background. Collections that moved on by half the log kept get a new file, so a
  restart always finds one it can catch up from.
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
from facekeeper.index.collection import NeedsFullLoad, spare_rows
from facekeeper.index.snapshot import SnapshotStore, log_tag
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
        snapshots: SnapshotStore | None = None,
        snapshot_every: int = 5_000,
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
        self.snapshots = snapshots
        self.snapshot_every = snapshot_every
        self._snapshot_positions: dict[str, int] = {}  # position of the newest file written or read
        self._snapshot_pending: set[str] = set()
        # One thread writes files, so a write (seconds at a million) never delays a load or a search.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collection-snapshot")

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
                self._maybe_snapshot(service.id, collection)
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
        if not self.index.apply(service_id, _with_vectors(changes, vectors)):
            return None
        self.events.loaded(full=False, seconds=time.perf_counter() - started)
        caught_up = self.index.get(service_id)
        if caught_up is not None:
            self._maybe_snapshot(service_id, caught_up)
        return caught_up

    def _load(self, service: ServiceRecord) -> IndexedCollection:
        started = time.perf_counter()
        restored = self._from_snapshot(service) if self.snapshots is not None else None
        collection = restored or self._from_database(service)
        self.index.install(service.id, collection, approximate=self._approximate(service))
        seconds = time.perf_counter() - started
        self.events.loaded(full=True, seconds=seconds)
        source = "its snapshot file" if restored is not None else "the database"
        logger.info(
            "loaded %d examples of service %s from %s in %.2f s", collection.size, service.name, source, seconds
        )
        if restored is None:
            self._schedule_snapshot(service.id)
        return collection

    def _from_database(self, service: ServiceRecord) -> LoadingCollection:
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
        self._loaded_calculators[service.id] = calculator
        return collection or self.index.new_collection(position, 0, 0)

    def _from_snapshot(self, service: ServiceRecord) -> LoadingCollection | None:
        """The collection from its snapshot file caught up from the log, or None when the file is missing,
        torn, from another history of the database, or further behind than the log reaches."""
        assert self.snapshots is not None
        header = self.snapshots.header(service.id)
        if header is None:
            return None
        with self.db.snapshot() as session:
            log = ChangeLogRepository(session)
            head = log.head(service.id)
            if head is None or header.position > head:
                return None  # the database is older than the file (restored from a backup?)
            behind = head - header.position
            if behind > max(MIN_REPLAY_ENTRIES, header.count // 4):
                return None
            entries = log.entries(service.id, max(header.position - 1, 0), head)
            if header.position > 0:  # the entry the file was written at must still be the same change
                if not entries or entries[0].seq != header.position:
                    return None
                if log_tag(entries[0].kind, entries[0].payload) != header.log_tag:
                    return None
                entries = entries[1:]
            if len(entries) != behind:
                return None
            changes: list[tuple[int, Change]] = [(entry.seq, decode(entry.kind, entry.payload)) for entry in entries]
            if any(isinstance(change, Reset) for _, change in changes):
                return None
            calculator = self._calculator(session, service.id)
            if header.calculator != calculator:
                return None  # written for another embedder's vectors
            data = self.snapshots.read(service.id, header, spare_rows(header.count + len(changes)))
            if data is None:
                return None
            collection = self.index.restore(data)
            added = [change.image_id for _, change in changes if isinstance(change, Added)]
            rows = CollectionRows(session, calculator)
            vectors = rows.vectors(service.id, added) if added else {}
            try:
                collection.apply(_with_vectors(changes, vectors))
            except NeedsFullLoad:
                return None
            # Counted, not read from `service.example_count`: a row deleted behind the log's back (by hand, by
            # a restore) changes no count the log keeps. 0.2 s at a million on SQLite, index pages cached.
            stored = rows.count(service.id)
        if collection.size != stored:
            logger.warning(
                "snapshot of service %s caught up to %d examples, the database holds %d: loading from the database",
                service.name,
                collection.size,
                stored,
            )
            return None
        self._snapshot_positions[service.id] = header.position
        self._loaded_calculators[service.id] = calculator
        return collection

    # --- snapshot files -----------------------------------------------------------------------------

    def _maybe_snapshot(self, service_id: str, collection: IndexedCollection) -> None:
        """A new file once the collection moved on by `snapshot_every` changes since the last one."""
        last = self._snapshot_positions.get(service_id)
        if last is not None and collection.position - last >= self.snapshot_every:
            self._schedule_snapshot(service_id)

    def _schedule_snapshot(self, service_id: str) -> None:
        if self.snapshots is None:
            return
        with self._locks_guard:
            if service_id in self._snapshot_pending:
                return
            self._snapshot_pending.add(service_id)
        try:
            self._background.submit(self._write_snapshot, service_id)
        except RuntimeError:  # shutting down
            with self._locks_guard:
                self._snapshot_pending.discard(service_id)

    def _write_snapshot(self, service_id: str) -> None:
        assert self.snapshots is not None
        try:
            collection = self.index.get(service_id)
            if collection is None:
                return
            view = collection.snapshot_view()
            tag = None
            if view.position > 0:
                with self.db.snapshot() as session:
                    entries = ChangeLogRepository(session).entries(service_id, view.position - 1, view.position)
                if not entries:
                    return  # no log entry names this position (a collection older than the log): no file
                tag = log_tag(entries[0].kind, entries[0].payload)
            started = time.perf_counter()
            written = self.snapshots.write(
                service_id,
                view.position,
                tag,
                view.matrix,
                view.ids,
                view.codes,
                view.names,
                still_valid=lambda: (
                    self.index.get(service_id) is collection and collection.generation == view.generation
                ),
                calculator=self._loaded_calculators.get(service_id),
            )
            if written:
                self._snapshot_positions[service_id] = view.position
                logger.info(
                    "wrote the snapshot of %d rows of service %s in %.2f s",
                    len(view.codes),
                    service_id,
                    time.perf_counter() - started,
                )
        except Exception:  # a failed snapshot costs the next start a database load, nothing else
            logger.exception("snapshot of service %s not written", service_id)
        finally:
            with self._locks_guard:
                self._snapshot_pending.discard(service_id)

    def wait_for_snapshots(self) -> None:
        """Block until the files scheduled so far are written (tests, benchmarks)."""
        self._background.submit(lambda: None).result()

    def prune_snapshots(self, services: set[str]) -> None:
        if self.snapshots is not None:
            self.snapshots.prune(services)

    def _approximate(self, service: ServiceRecord) -> bool:
        return "*" in self.approximate_services or service.name in self.approximate_services

    def shutdown(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _with_vectors(changes: list[tuple[int, Change]], vectors: dict[str, np.ndarray]) -> list[tuple[int, Change]]:
    """Added changes as read from the log carry no vector: fill in the stored ones."""
    return [
        (seq, replace(change, vector=vectors.get(change.image_id)) if isinstance(change, Added) else change)
        for seq, change in changes
    ]


def _batch_matrix(embeddings: list[bytes]) -> np.ndarray:
    sizes = {len(e) for e in embeddings}
    if len(sizes) != 1:
        # Examples from two embedders (a model change without migration) cannot share a matrix.
        raise _dimension_mismatch(min(sizes) // 4, max(sizes) // 4)
    return np.frombuffer(b"".join(embeddings), dtype=np.float32).reshape(len(embeddings), -1)


def _dimension_mismatch(given: int, expected: int) -> FacekeeperError:
    return FacekeeperError(Error.EMBEDDING_DIMENSION_MISMATCH, given=given, expected=expected)
