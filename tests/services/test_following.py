"""Processes following one collection through the change log, on each backend: each "process" is its own
FaceCollections over one database. A full load happens only on first use, after a reset, or when the log
cannot cover the gap; everything else is replayed."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.storage.collection_rows import CollectionRows
from facekeeper.storage.db import Database
from tests.services.processes import Process, service, two

__all__ = ["service", "two"]  # fixtures


def test_first_use_loads_once_then_own_writes_apply_in_place(
    two: tuple[Process, Process], service: ServiceRecord
) -> None:
    one, _ = two
    tom = one.enrol(service, "Tom", [1, 0])
    assert one.found(service, [1, 0]) == [(tom, "Tom")]
    ann = one.enrol(service, "Ann", [0, 1])
    one.subjects.rename(service, "Tom", "Thomas")
    assert one.found(service, [1, 0]) == [(tom, "Thomas"), (ann, "Ann")]
    assert (one.loads.full, one.loads.incremental) == (1, 0)


def test_writes_of_another_process_are_replayed_not_reloaded(
    two: tuple[Process, Process], service: ServiceRecord
) -> None:
    reader, writer = two
    tom = writer.enrol(service, "Tom", [1, 0])
    assert reader.found(service, [1, 0]) == [(tom, "Tom")]
    ann = writer.enrol(service, "Ann", [0, 1])
    bob = writer.enrol(service, "Bob", [1, 1])
    writer.subjects.rename(service, "Tom", "Thomas")
    writer.examples.delete(service, bob)
    writer.subjects.rename(service, "Ann", "THOMAS")  # a merge
    assert reader.found(service, [1, 0]) == [(tom, "Thomas"), (ann, "Thomas")]
    writer.examples.delete_by_subject(service, "thomas")
    assert reader.found(service, [1, 0]) == []
    assert (reader.loads.full, reader.loads.incremental) == (1, 2)
    assert reader.loads.lags == [5, 1]


def test_renames_replay_in_order(two: tuple[Process, Process], service: ServiceRecord) -> None:
    """B -> C, then A -> B: an example of A must end up under B, not C."""
    reader, writer = two
    a = writer.enrol(service, "A", [1, 0])
    b = writer.enrol(service, "B", [0, 1])
    reader.found(service, [1, 0])
    writer.subjects.rename(service, "B", "C")
    writer.subjects.rename(service, "A", "B")
    assert sorted(reader.found(service, [1, 0])) == sorted([(a, "B"), (b, "C")])
    assert reader.loads.full == 1


def test_example_added_then_deleted_before_the_replay(two: tuple[Process, Process], service: ServiceRecord) -> None:
    reader, writer = two
    writer.enrol(service, "Tom", [1, 0])
    reader.found(service, [1, 0])
    gone = writer.enrol(service, "Ann", [0, 1])
    writer.examples.delete(service, gone)
    assert [s for _, s in reader.found(service, [0, 1])] == ["Tom"]
    assert reader.loads.full == 1


def test_a_reset_is_a_full_load(two: tuple[Process, Process], service: ServiceRecord) -> None:
    reader, writer = two
    writer.enrol(service, "Tom", [1, 0])
    reader.found(service, [1, 0])
    writer.subjects.delete_all(service)
    ann = writer.enrol(service, "Ann", [0, 1])
    assert reader.found(service, [1, 0]) == [(ann, "Ann")]
    assert reader.loads.full == 2


def test_a_pruned_log_is_a_full_load(
    database: Database, service: ServiceRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("facekeeper.storage.change_log.PRUNE_EVERY", 4)
    reader, writer = Process(database), Process(database, keep_log_entries=2)
    writer.enrol(service, "Tom", [1, 0])
    reader.found(service, [1, 0])
    for i in range(8):
        writer.enrol(service, f"P{i}", [0, 1])
    assert len(reader.found(service, [0, 1], k=100)) == 9
    assert (reader.loads.full, reader.loads.incremental) == (2, 0)


def test_far_behind_a_small_collection_loads_instead_of_replaying(
    two: tuple[Process, Process], service: ServiceRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("facekeeper.services.following.MIN_REPLAY_ENTRIES", 2)
    reader, writer = two
    for i in range(8):
        writer.enrol(service, f"P{i}", [1, i])
    reader.found(service, [1, 0])
    for i in range(3):  # more than a quarter of 8 rows, and more than 2
        writer.enrol(service, f"Q{i}", [0, 1])
    assert len(reader.found(service, [1, 0], k=100)) == 11
    assert (reader.loads.full, reader.loads.incremental) == (2, 0)


def test_concurrent_requests_share_one_load(two: tuple[Process, Process], service: ServiceRecord) -> None:
    reader, writer = two
    writer.enrol(service, "Tom", [1, 0])
    view = reader.view(service)

    async def many() -> None:
        await asyncio.gather(*(reader.collections.prepare(view) for _ in range(8)))

    asyncio.run(many())
    assert reader.loads.full == 1
    assert reader.collections.index.get(service.id) is not None


def test_a_write_while_a_load_holds_the_lock_is_left_to_the_log(
    two: tuple[Process, Process], service: ServiceRecord
) -> None:
    one, _ = two
    one.enrol(service, "Tom", [1, 0])
    one.found(service, [1, 0])
    lock = one.collections.follower._lock_of(service.id)
    with lock:  # as if a replay were running: the writer must not wait for it
        writer = threading.Thread(target=one.enrol, args=(service, "Ann", [0, 1]))
        writer.start()
        writer.join(10)
        assert not writer.is_alive()
    assert [s for _, s in one.found(service, [0, 1])] == ["Ann", "Tom"]
    assert (one.loads.full, one.loads.incremental) == (1, 1)


def test_a_collection_of_two_dimensions_is_a_clear_error(two: tuple[Process, Process], service: ServiceRecord) -> None:
    one, other = two
    one.enrol(service, "Tom", [1, 0])
    one.enrol(service, "Ann", [1, 0, 0])
    with pytest.raises(FacekeeperError) as caught:
        other.found(service, [1, 0])
    assert caught.value.error is Error.EMBEDDING_DIMENSION_MISMATCH


def test_services_follow_independently(two: tuple[Process, Process], database: Database) -> None:
    reader, writer = two
    keys = ApiKeyService(database)
    first = keys.create(f"a-{uuid.uuid4().hex[:6]}", ServiceType.RECOGNITION)
    second = keys.create(f"b-{uuid.uuid4().hex[:6]}", ServiceType.RECOGNITION)
    writer.enrol(first, "Tom", [1, 0])
    writer.enrol(second, "Ann", [1, 0])
    assert [s for _, s in reader.found(first, [1, 0])] == ["Tom"]
    assert [s for _, s in reader.found(second, [1, 0])] == ["Ann"]
    assert reader.loads.full == 2


def test_other_services_answer_while_one_loads(
    two: tuple[Process, Process], database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer = two
    keys = ApiKeyService(database)
    slow = keys.create(f"slow-{uuid.uuid4().hex[:6]}", ServiceType.RECOGNITION)
    quick = keys.create(f"quick-{uuid.uuid4().hex[:6]}", ServiceType.RECOGNITION)
    writer.enrol(slow, "Tom", [1, 0])
    writer.enrol(quick, "Ann", [1, 0])
    release, streaming = threading.Event(), threading.Event()
    original = CollectionRows.stream

    def stream(self: CollectionRows, service_id: str, batch_rows: int) -> Iterator[object]:
        if service_id == slow.id:  # the big collection's load: stuck until released
            streaming.set()
            assert release.wait(30)
        return original(self, service_id, batch_rows)

    monkeypatch.setattr(CollectionRows, "stream", stream)
    loading = threading.Thread(target=reader.found, args=(slow, [1, 0]))
    loading.start()
    try:
        assert streaming.wait(10)
        assert [s for _, s in reader.found(quick, [1, 0])] == ["Ann"]  # not behind the other load
        assert loading.is_alive()
    finally:
        release.set()
        loading.join(30)
    assert [s for _, s in reader.found(slow, [1, 0])] == ["Tom"]
