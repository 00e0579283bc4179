"""Snapshot files: what is written reads back the same (tombstones, renames and merges included), and a
file that is torn, corrupted, foreign or replaced under a write is never trusted."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from facekeeper.index.changes import Added, Removed, Renamed
from facekeeper.index.collection import CollectionStore, spare_rows
from facekeeper.index.memory import InMemoryIndex
from facekeeper.index.snapshot import HEADER_BYTES, SnapshotStore, log_tag
from tests.index.support import ids, search, store_of, uid

SERVICE = "3f1c2b9e-0000-4000-8000-000000000001"


def write(store: SnapshotStore, collection: CollectionStore, tag: str | None = "t") -> None:
    view = collection.snapshot_view()
    assert store.write(SERVICE, view.position, tag, view.matrix, view.ids, view.codes, view.names)


def restored(store: SnapshotStore) -> CollectionStore:
    header = store.header(SERVICE)
    assert header is not None
    data = store.read(SERVICE, header, spare_rows(header.count))
    assert data is not None
    return InMemoryIndex().restore(data)


def busy_collection() -> CollectionStore:
    """Tombstones, a rename and a merge whose old name is then used again."""
    collection = store_of(["Ann", "Bob", "Cy", "Bob"], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1]], position=3)
    collection.apply(
        [
            (4, Removed((uid(0),))),
            (5, Renamed("Cy", "Bob")),  # merge: "Cy" is now an unused code
            (6, Renamed("Bob", "Dee")),
            (7, Added(uid(9), "Cy", np.asarray([1, 1, 0], dtype=np.float32))),  # "Cy" again, a new code
        ]
    )
    return collection


def test_round_trip(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "collections")
    original = busy_collection()
    write(store, original)
    copy = restored(store)
    assert copy.position == 7 and copy.size == original.size == 4
    queries: list[list[float]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]]
    for query in queries:
        assert search(copy, query) == search(original, query)
    assert {n.subject for n in search(copy, [0, 1, 0])} == {"Dee", "Cy"}
    # The restored copy follows further changes like the original: renaming "Cy" touches only its row.
    for collection in (original, copy):
        collection.apply([(8, Renamed("Cy", "Eve")), (9, Added(uid(10), "Dee", np.asarray([0, 0, 2], np.float32)))])
    assert search(copy, [1, 1, 0]) == search(original, [1, 1, 0])
    assert ids(search(copy, [0, 0, 1], k=1)) == ids(search(original, [0, 0, 1], k=1))
    assert [n.subject for n in search(copy, [1, 1, 0], k=1)] == ["Eve"]


def test_empty_collection(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    write(store, CollectionStore(0), tag=None)
    assert restored(store).size == 0


@pytest.mark.parametrize("where", ["header", "matrix", "names"])
def test_a_changed_byte_is_never_trusted(tmp_path: Path, where: str) -> None:
    store = SnapshotStore(tmp_path)
    write(store, busy_collection())
    path = store.path(SERVICE)
    raw = bytearray(path.read_bytes())
    offset = {"header": 10, "matrix": HEADER_BYTES + 5, "names": len(raw) - 3}[where]
    raw[offset] ^= 0x40
    path.write_bytes(bytes(raw))
    header = store.header(SERVICE)
    assert header is None or store.read(SERVICE, header, 0) is None


def test_a_torn_file_is_never_trusted(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    write(store, busy_collection())
    header = store.header(SERVICE)
    assert header is not None
    with open(store.path(SERVICE), "r+b") as file:
        file.truncate(os.path.getsize(store.path(SERVICE)) - 1)
    assert store.header(SERVICE) is None
    assert store.read(SERVICE, header, 0) is None


def test_another_services_file_is_refused(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    write(store, busy_collection())
    other = "3f1c2b9e-0000-4000-8000-000000000002"
    store.path(SERVICE).rename(store.path(other))
    assert store.header(other) is None


def test_a_write_whose_arrays_changed_meanwhile_leaves_the_old_file(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    write(store, busy_collection())
    before = store.path(SERVICE).read_bytes()
    view = store_of(["X"], [[1, 0, 0]], position=99).snapshot_view()
    written = store.write(
        SERVICE, view.position, "t", view.matrix, view.ids, view.codes, view.names, still_valid=lambda: False
    )
    assert not written
    assert store.path(SERVICE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [store.path(SERVICE).name]  # no temporary file left


def test_prune_keeps_only_known_services(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    write(store, busy_collection())
    (tmp_path / f".{SERVICE}.1.2.tmp").write_bytes(b"half")
    store.prune({SERVICE})
    assert [p.name for p in tmp_path.iterdir()] == [store.path(SERVICE).name]
    store.prune(set())
    assert not list(tmp_path.iterdir())


def test_log_tags_tell_changes_apart() -> None:
    assert log_tag("added", '{"image_id":"a"}') != log_tag("added", '{"image_id":"b"}')
    assert log_tag("reset", "{}") == log_tag("reset", "{}")
