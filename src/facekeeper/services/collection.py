"""A recognition service's face collection as the use cases see it: transactional writes to the
database that keep the in-memory index in step, and searches that reload it when another process
has changed the collection."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from facekeeper.domain import ServiceRecord
from facekeeper.index.base import LoadedCollection, Neighbour
from facekeeper.index.exact import ExactIndex
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository

logger = logging.getLogger(__name__)


@dataclass
class CollectionWrite:
    """Repositories of one transaction, and the index changes to apply once it has committed."""

    session: Session
    service: ServiceRecord
    index_change: Callable[[ExactIndex, int], None] | None = None

    @property
    def subjects(self) -> SubjectRepository:
        return SubjectRepository(self.session)

    @property
    def examples(self) -> ExampleRepository:
        return ExampleRepository(self.session)

    def then(self, change: Callable[[ExactIndex, int], None]) -> None:
        """The one index change this write makes (each write is one revision step)."""
        assert self.index_change is None, "one index change per collection write"
        self.index_change = change


class FaceCollections:
    def __init__(self, db: Database, index: ExactIndex) -> None:
        self.db = db
        self.index = index

    def loader(self, service_id: str) -> Callable[[], LoadedCollection]:
        def load() -> LoadedCollection:
            with self.db.transaction() as session:
                revision = ServiceRepository(session).revision(service_id)
                stored = ExampleRepository(session).collection(service_id)
            return LoadedCollection(revision, stored.image_ids, stored.subjects, stored.matrix)

        return load

    def search(self, service: ServiceRecord, queries: np.ndarray, k: int) -> list[list[Neighbour]]:
        """`service.revision` was read when the request was authenticated: a newer one reloads."""
        return self.index.search(service.id, service.revision, self.loader(service.id), queries, k)

    def dimension(self, service: ServiceRecord) -> int | None:
        return self.index.dimension(service.id, service.revision, self.loader(service.id))

    @contextmanager
    def write(self, service: ServiceRecord) -> Iterator[CollectionWrite]:
        """One transaction that bumps the collection's revision; index changes apply after commit."""
        with self.db.transaction(write=True) as session:
            write = CollectionWrite(session, service)
            yield write
            change = write.index_change
            revision = ServiceRepository(session).bump_revision(service.id) if change else None
        if change is not None and revision is not None:
            try:
                change(self.index, revision)
            except Exception:
                # The database is the truth and has committed: never fail the request for the cache;
                # drop the in-memory copy so the next search reloads it.
                logger.exception("index update failed for service %s; reloading on next use", service.id)
                self.index.forget(service.id)
