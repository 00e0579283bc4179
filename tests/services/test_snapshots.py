"""Restarting with snapshot files, on each backend: a process loads a collection from its file and catches
up from the log, and falls back to the database whenever the file cannot be trusted to match it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from facekeeper.domain import ServiceRecord
from facekeeper.index.snapshot import SnapshotStore
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.storage.collection_rows import CollectionRows
from facekeeper.storage.db import Database
from tests.services.processes import Process, service

__all__ = ["service"]  # fixture


class Restartable(Process):
    def __init__(self, db: Database, folder: Path, keep_log_entries: int = 10_000) -> None:
        self.snapshots = SnapshotStore(folder)
        super().__init__(db, keep_log_entries, self.snapshots)

    def settle(self) -> None:
        self.collections.follower.wait_for_snapshots()


@pytest.fixture
def processes(database: Database, tmp_path: Path) -> Iterator[list[Restartable]]:
    started: list[Restartable] = []
    yield started
    for process in started:
        process.collections.shutdown()


@pytest.fixture
def start(database: Database, tmp_path: Path, processes: list[Restartable]) -> Iterator[object]:
    def start(keep_log_entries: int = 10_000) -> Restartable:
        process = Restartable(database, tmp_path / "collections", keep_log_entries)
        processes.append(process)
        return process

    yield start


@pytest.fixture
def database_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Service ids whose rows were streamed from the database (a full load not served by a file)."""
    streamed: list[str] = []
    original = CollectionRows.stream

    def stream(self: CollectionRows, service_id: str, batch_rows: int) -> Iterator[object]:
        streamed.append(service_id)
        return original(self, service_id, batch_rows)

    monkeypatch.setattr(CollectionRows, "stream", stream)
    return streamed


def seeded(process: Restartable, service: ServiceRecord) -> dict[str, str]:
    ids = {}
    for n, name in enumerate(["Ann", "Bob", "Cy"]):
        vector = [0.0] * 4
        vector[n] = 1.0
        ids[name] = process.enrol(service, name, vector)
    assert process.found(service, [1, 0, 0, 0], k=1)[0][1] == "Ann"  # first use: loaded, file written
    process.settle()
    return ids


def test_a_restart_reads_the_file_and_replays_what_came_after(
    start: object, service: ServiceRecord, database_loads: list[str]
) -> None:
    first = start()  # type: ignore[operator]
    ids = seeded(first, service)
    assert database_loads == [service.id]
    assert first.snapshots.header(service.id).position == 3
    first.subjects.rename(first.view(service), "Bob", "Bea")
    added = first.enrol(service, "Dee", [0, 0, 0, 1])
    first.examples.delete(first.view(service), ids["Cy"])

    again = start()  # type: ignore[operator]
    assert again.found(service, [0, 1, 0, 0], k=1) == [(ids["Bob"], "Bea")]
    assert again.found(service, [0, 0, 0, 1], k=1) == [(added, "Dee")]
    assert ids["Cy"] not in {image_id for image_id, _ in again.found(service, [0, 0, 1, 0])}
    assert database_loads == [service.id]  # the restart streamed nothing from the database
    assert again.loads.full == 1


def test_a_file_behind_a_pruned_log_is_not_used(
    start: object, service: ServiceRecord, database_loads: list[str]
) -> None:
    first = start(keep_log_entries=300)  # type: ignore[operator]
    seeded(first, service)
    first.collections.follower.snapshot_every = 10**9  # keep the old file
    for n in range(600):
        first.enrol(service, f"p{n}", [1.0, 0.5, 0.25, float(n)])
    again = start()  # type: ignore[operator]
    assert len(again.found(service, [1, 0, 0, 0], k=1000)) == 603
    assert database_loads == [service.id, service.id]


def test_a_file_ahead_of_the_database_is_not_used(
    start: object, service: ServiceRecord, database: Database, database_loads: list[str]
) -> None:
    seeded(start(), service)  # type: ignore[operator]
    with database.transaction() as session:  # as if the database were restored from an older backup
        session.execute(text("UPDATE service SET revision = 2 WHERE id = :id"), {"id": service.id})
    start().found(service, [1, 0, 0, 0])  # type: ignore[operator]
    assert database_loads == [service.id, service.id]


def test_a_file_from_another_history_is_not_used(
    start: object, service: ServiceRecord, database: Database, database_loads: list[str]
) -> None:
    seeded(start(), service)  # type: ignore[operator]
    with database.transaction() as session:  # same position, another change at it
        session.execute(
            text("UPDATE collection_change SET payload = '{}', kind = 'reset' WHERE service_id = :id AND seq = 3"),
            {"id": service.id},
        )
    start().found(service, [1, 0, 0, 0])  # type: ignore[operator]
    assert database_loads == [service.id, service.id]


def test_a_count_that_disagrees_is_a_database_load(
    start: object, service: ServiceRecord, database: Database, database_loads: list[str]
) -> None:
    ids = seeded(start(), service)  # type: ignore[operator]
    with database.transaction() as session:  # a row gone behind the log's back
        session.execute(text("DELETE FROM example WHERE id = :id"), {"id": ids["Ann"]})
    found = start().found(service, [1, 0, 0, 0])  # type: ignore[operator]
    assert ids["Ann"] not in {image_id for image_id, _ in found}
    assert database_loads == [service.id, service.id]


def test_a_corrupted_file_is_a_database_load(start: object, service: ServiceRecord, database_loads: list[str]) -> None:
    first = start()  # type: ignore[operator]
    seeded(first, service)
    path = first.snapshots.path(service.id)
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0x01
    path.write_bytes(bytes(raw))
    assert start().found(service, [1, 0, 0, 0], k=1)[0][1] == "Ann"  # type: ignore[operator]
    assert database_loads == [service.id, service.id]


def test_a_collection_that_moved_on_gets_a_new_file(start: object, service: ServiceRecord) -> None:
    first = start(keep_log_entries=100)  # type: ignore[operator]  # a new file every 50 changes
    seeded(first, service)
    for n in range(60):
        first.enrol(service, "Ann", [1.0, 0.0, 0.0, float(n)])
    first.settle()
    header = first.snapshots.header(service.id)
    assert header is not None and header.position >= 50
    assert header.count == header.position  # one added example per change


def test_start_prunes_files_of_deleted_services(
    start: object, service: ServiceRecord, database: Database, tmp_path: Path
) -> None:
    first = start()  # type: ignore[operator]
    seeded(first, service)
    assert first.snapshots.path(service.id).exists()
    ApiKeyService(database).delete(service.api_key)
    first.collections.start()
    assert not first.snapshots.path(service.id).exists()
