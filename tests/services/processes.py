"""Stand-ins for server processes over one database, for the services tests: each is its own FaceCollections
(and the use cases over it), so what one writes reaches another only through the database and its log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.index.changes import Added
from facekeeper.index.memory import InMemoryIndex
from facekeeper.index.snapshot import SnapshotStore
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.collection import FaceCollections
from facekeeper.services.examples import ExampleService
from facekeeper.services.subjects import SubjectService
from facekeeper.storage.db import Database


class Loads:
    """Counts what a process's follower reports."""

    def __init__(self) -> None:
        self.full = 0
        self.incremental = 0
        self.lags: list[int] = []

    def loaded(self, full: bool, seconds: float) -> None:
        if full:
            self.full += 1
        else:
            self.incremental += 1

    def lag(self, service: str, entries: int) -> None:
        self.lags.append(entries)


class Process:
    def __init__(self, db: Database, keep_log_entries: int = 10_000, snapshots: SnapshotStore | None = None) -> None:
        self.db = db
        self.loads = Loads()
        self.collections = FaceCollections(
            db, InMemoryIndex(), keep_log_entries=keep_log_entries, events=self.loads, snapshots=snapshots
        )
        self.subjects = SubjectService(self.collections)
        self.examples = ExampleService(self.collections, None, False)  # type: ignore[arg-type]  # no pipeline
        self.keys = ApiKeyService(db)

    def view(self, service: ServiceRecord) -> ServiceRecord:
        """The service as a request authenticated now sees it."""
        return self.keys.authenticate(service.api_key, ServiceType.RECOGNITION)

    def listed(self, service: ServiceRecord) -> list[str]:
        """What GET /subjects answers to a request authenticated now."""
        names: list[str] = json.loads(self.subjects.names_json(self.view(service)))
        return names

    def enrol(self, service: ServiceRecord, subject: str, vector: list[float] | None = None) -> str:
        embedding = np.asarray(vector if vector is not None else [1.0] * 4, dtype=np.float32)
        with self.collections.write(service) as write:
            stored = write.subjects.find(service.id, subject) or write.subjects.add(service.id, subject)
            image_id = write.examples.add(service.id, stored.id, embedding, "calc", None)
            write.record(Added(image_id, stored.name, embedding))
        return image_id

    def found(self, service: ServiceRecord, query: list[float], k: int = 10) -> list[tuple[str, str]]:
        neighbours = self.collections.search(self.view(service), np.asarray([query], dtype=np.float32), k)[0]
        return [(n.image_id, n.subject) for n in neighbours]


@pytest.fixture
def service(database: Database) -> ServiceRecord:
    return ApiKeyService(database).create("rec", ServiceType.RECOGNITION)


@pytest.fixture
def two(database: Database) -> Iterator[tuple[Process, Process]]:
    first, second = Process(database), Process(database)
    yield first, second
    first.collections.shutdown()
    second.collections.shutdown()
