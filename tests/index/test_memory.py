"""InMemoryIndex: collections per service, dropped when they cannot follow, bounded by memory (LRU)."""

from __future__ import annotations

import numpy as np

from facekeeper.index.changes import Added, Removed, Reset
from facekeeper.index.memory import InMemoryIndex
from tests.index.support import store_of, uid


def loaded(index: InMemoryIndex, service_id: str, rows: int = 2, position: int = 1) -> None:
    collection = index.new_collection(position, 2, rows)
    collection.load_rows([uid(i) for i in range(rows)], ["S"] * rows, np.ones((rows, 2), dtype=np.float32))
    index.install(service_id, collection)


def test_services_are_independent() -> None:
    index = InMemoryIndex()
    loaded(index, "one", rows=2)
    loaded(index, "two", rows=3)
    assert index.get("one").size == 2  # type: ignore[union-attr]
    assert index.get("two").size == 3  # type: ignore[union-attr]
    assert index.get("three") is None


def test_new_collection_leaves_room_to_grow() -> None:
    collection = InMemoryIndex().new_collection(0, 4, 10_000)
    assert collection._matrix.shape[0] > 10_000


def test_apply_follows_the_log() -> None:
    index = InMemoryIndex()
    loaded(index, "svc")
    assert index.apply("svc", [(2, Added(uid(5), "T", np.asarray([1, 0], dtype=np.float32)))])
    assert index.get("svc").position == 2  # type: ignore[union-attr]


def test_apply_without_a_collection_is_false() -> None:
    assert not InMemoryIndex().apply("svc", [(1, Removed((uid(1),)))])


def test_a_change_it_cannot_follow_drops_the_collection() -> None:
    index = InMemoryIndex()
    loaded(index, "svc")
    assert not index.apply("svc", [(2, Reset())])
    assert index.get("svc") is None
    loaded(index, "svc")
    assert not index.apply("svc", [(5, Removed((uid(0),)))])  # a gap
    assert index.get("svc") is None


def test_forget_only_the_given_collection() -> None:
    index = InMemoryIndex()
    loaded(index, "svc")
    index.forget("svc", only=store_of(["x"], [[1, 0]]))
    assert index.get("svc") is not None
    index.forget("svc")
    assert index.get("svc") is None


def test_least_recently_used_collections_go_when_memory_is_short() -> None:
    index = InMemoryIndex(memory_limit_bytes=1)  # smaller than any collection: keep only the newest
    loaded(index, "a")
    loaded(index, "b")
    assert set(index.held()) == {"b"}
    index = InMemoryIndex()
    for name in "abc":
        loaded(index, name)
    index.get("a")  # a is now more recent than b
    index.memory_limit_bytes = sum(c.nbytes for c in index.held().values()) - 1
    loaded(index, "d")
    assert "b" not in index.held()
    assert {"a", "d"} <= set(index.held())
