"""A recognition service's face collection as the use cases see it.

Writes: one transaction per write, holding the collection's writer lock, appends each change to the
change log (which bumps `service.revision`); after commit the writer applies the same changes to its own
index when they directly follow it. A write that changed subjects and recorded nothing (a subject created
or deleted without examples) logs `SUBJECTS_ONLY`: the revision moves with every change to the subjects too.

Reads: a request carries the revision it saw when its API key was checked (its view). Any copy at or
past that view is current; a copy behind it replays the log entries it has not seen (see `following`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from facekeeper.domain import ServiceRecord, l2_normalize
from facekeeper.index.base import IndexedCollection, Neighbour, VectorIndex
from facekeeper.index.changes import SUBJECTS_ONLY, Added, Change, Removed, Reset, encode
from facekeeper.index.snapshot import SnapshotStore
from facekeeper.metrics import CollectionState
from facekeeper.services.following import CollectionEvents, CollectionFollower
from facekeeper.storage.change_log import ChangeLogRepository, this_process
from facekeeper.storage.db import Database
from facekeeper.storage.notifications import ChangeListener
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository, subjects_written

logger = logging.getLogger(__name__)


def _examples_delta(change: Change) -> int | None:
    """How a change moves the service's example count; None: recount (a reset)."""
    if isinstance(change, Added):
        return 1
    if isinstance(change, Removed):
        return -len(change.image_ids)
    if isinstance(change, Reset):
        return None
    return 0


@dataclass
class CollectionWrite:
    """Repositories of one transaction, and the changes it makes to the collection."""

    session: Session
    service: ServiceRecord
    changes: list[tuple[Change, int | None]] = field(default_factory=list)

    @property
    def subjects(self) -> SubjectRepository:
        return SubjectRepository(self.session)

    @property
    def examples(self) -> ExampleRepository:
        return ExampleRepository(self.session)

    def record(self, change: Change, examples_delta: int | None = None) -> None:
        """Log `change` with this transaction; `examples_delta` for a subject's removal (the ids are
        not listed, so the count is the caller's)."""
        self.changes.append((change, examples_delta if examples_delta is not None else _examples_delta(change)))


class FaceCollections:
    def __init__(
        self,
        db: Database,
        index: VectorIndex,
        *,
        keep_log_entries: int = 10_000,
        events: CollectionEvents | None = None,
        approximate_services: frozenset[str] = frozenset(),
        loads: Executor | None = None,
        calculators: Callable[[str], str] | None = None,
        snapshots: SnapshotStore | None = None,
    ) -> None:
        """`calculators`: embedder name -> calculator version; with it a collection holds only the
        vectors of its service's embedder."""
        self.db = db
        self.index = index
        self.keep_log_entries = keep_log_entries
        # A new snapshot file once half the kept log is behind it: a restart can always catch up from one.
        self.follower = CollectionFollower(
            db,
            index,
            events,
            approximate_services,
            loads,
            calculators,
            snapshots,
            snapshot_every=max(keep_log_entries // 2, 1),
        )
        self._listener: ChangeListener | None = None

    # --- reading ------------------------------------------------------------------------------------

    def current(self, service: ServiceRecord) -> IndexedCollection:
        """The service's collection, at or past the request's view (loaded or caught up here if not)."""
        return self.follower.current(service)

    def loaded_calculator(self, service_id: str) -> str | None:
        """The calculator of the vectors this process holds for the service (None when not known)."""
        return self.follower.loaded_calculator(service_id)

    async def prepare(self, service: ServiceRecord) -> None:
        """Bring the collection up to the request's view before inference, on the loader threads: a
        load never runs on an inference worker, and other services' requests never wait for it."""
        await self.follower.prepare(service)

    def search(self, service: ServiceRecord, queries: np.ndarray, k: int) -> list[list[Neighbour]]:
        return self.current(service).search(l2_normalize(queries), k)

    # --- writing ------------------------------------------------------------------------------------

    @contextmanager
    def write(self, service: ServiceRecord) -> Iterator[CollectionWrite]:
        """One transaction; its recorded changes are logged with it and applied locally after commit."""
        with self.db.transaction(write=True) as session:
            log = ChangeLogRepository(session, self.keep_log_entries)
            log.lock(service.id)
            write = CollectionWrite(session, service)
            yield write
            if not write.changes and subjects_written(session):
                write.record(SUBJECTS_ONLY)
            entries = [(*encode(change), delta) for change, delta in write.changes]
            seqs = log.append_many(service.id, entries) if entries else []
            logged = list(zip(seqs, (change for change, _ in write.changes), strict=True))
        if logged:
            self.follower.applied_locally(service, logged)

    def states(self) -> list[CollectionState]:
        """Every recognition service's size and head, with this process's copy of it (for /metrics)."""
        with self.db.transaction() as session:
            heads = ServiceRepository(session).collection_heads()
        held = self.index.held()
        states = []
        for service_id, name, examples, revision in heads:
            collection = held.get(service_id)
            position = collection.position if collection is not None else None
            memory = collection.nbytes if collection is not None else 0
            states.append(CollectionState(name, examples, revision, position, memory))
        return states

    def start(self) -> None:
        """Server start: drop snapshot files of services deleted meanwhile, and follow notifications."""
        with self.db.transaction() as session:
            services = {service_id for service_id, *_ in ServiceRepository(session).collection_heads()}
        self.follower.prune_snapshots(services)
        self.follow_notifications()

    def follow_notifications(self) -> None:
        """On PostgreSQL, replay other processes' changes as soon as they are announced (a server does
        this; a CLI command, which never searches, does not)."""
        if self.db.is_sqlite or self._listener is not None:
            return
        # Our own writes are applied in place after commit; their NOTIFY may arrive first and would replay them.
        self._listener = ChangeListener(
            self.db.url, self.follower.notified, self.follower.reconnected, skip_sender=this_process()
        )
        self._listener.start()

    def shutdown(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.follower.shutdown()
        self.index.shutdown()
