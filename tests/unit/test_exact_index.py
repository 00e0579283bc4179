"""ExactIndex: nearest-first search, revision-following changes, snapshot isolation, thread safety."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import pytest

from facekeeper.index.base import LoadedCollection, Neighbour
from facekeeper.index.exact import ExactIndex

SERVICE = "svc"


class CountingLoader:
    """A loader returning a fixed collection and counting how often the index asked for it."""

    def __init__(self, revision: int, image_ids: list[str], subjects: list[str], rows: list[list[float]]) -> None:
        self.revision = revision
        self.image_ids = image_ids
        self.subjects = subjects
        self.matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1) if rows else np.zeros((0, 0))
        self.calls = 0

    def __call__(self) -> LoadedCollection:
        self.calls += 1
        return LoadedCollection(self.revision, list(self.image_ids), list(self.subjects), self.matrix.copy())


def three_vectors(revision: int = 1) -> CountingLoader:
    # Deliberately not unit length: the index must normalise stored rows itself.
    return CountingLoader(revision, ["a", "b", "c"], ["Alice", "Bob", "Carol"], [[3, 0], [0, 5], [2, 2]])


def search(
    index: ExactIndex, loader: Callable[[], LoadedCollection], revision: int, query: list[float], k: int = 10
) -> list[Neighbour]:
    return index.search(SERVICE, revision, loader, np.asarray([query], dtype=np.float32), k)[0]


def ids(neighbours: list[Neighbour]) -> list[str]:
    return [n.image_id for n in neighbours]


def test_search_returns_nearest_first_with_euclidean_distances_of_normalised_vectors() -> None:
    index = ExactIndex()
    result = search(index, three_vectors(), 1, [10, 0])
    assert ids(result) == ["a", "c", "b"]
    assert [n.subject for n in result] == ["Alice", "Carol", "Bob"]
    expected = [0.0, math.sqrt(2 - 2 * math.cos(math.pi / 4)), math.sqrt(2)]
    assert [n.distance for n in result] == pytest.approx(expected, abs=1e-6)


def test_search_handles_several_queries_independently() -> None:
    index = ExactIndex()
    queries = np.asarray([[1, 0], [0, 1], [-1, 0]], dtype=np.float32)
    results = index.search(SERVICE, 1, three_vectors(), queries, 1)
    assert [ids(r) for r in results] == [["a"], ["b"], ["b"]]
    assert results[2][0].distance == pytest.approx(math.sqrt(2), abs=1e-6)


def test_opposite_vector_is_at_distance_two() -> None:
    index = ExactIndex()
    farthest = search(index, three_vectors(), 1, [-1, -1], k=3)[-1]
    assert farthest.image_id == "c"
    assert farthest.distance == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize(("k", "expected"), [(1, 1), (2, 2), (3, 3), (4, 3), (100, 3)])
def test_top_k_is_capped_at_collection_size(k: int, expected: int) -> None:
    assert len(search(ExactIndex(), three_vectors(), 1, [1, 0], k=k)) == expected


def test_k_zero_returns_empty_lists() -> None:
    assert search(ExactIndex(), three_vectors(), 1, [1, 0], k=0) == []


def test_empty_collection_returns_one_empty_list_per_query() -> None:
    index = ExactIndex()
    loader = CountingLoader(0, [], [], [])
    queries = np.asarray([[1, 0], [0, 1]], dtype=np.float32)
    assert index.search(SERVICE, 0, loader, queries, 5) == [[], []]
    assert index.size(SERVICE, 0, loader) == 0
    assert index.dimension(SERVICE, 0, loader) is None


def test_size_and_dimension_of_a_loaded_collection() -> None:
    index = ExactIndex()
    loader = three_vectors()
    assert index.size(SERVICE, 1, loader) == 3
    assert index.dimension(SERVICE, 1, loader) == 2


def test_loader_called_once_for_repeated_searches_at_same_revision() -> None:
    index = ExactIndex()
    loader = three_vectors()
    for _ in range(5):
        search(index, loader, 1, [1, 0])
    index.size(SERVICE, 1, loader)
    assert loader.calls == 1


def test_newer_revision_reloads() -> None:
    index = ExactIndex()
    old = three_vectors(revision=1)
    search(index, old, 1, [1, 0])
    new = CountingLoader(2, ["z"], ["Zed"], [[1, 0]])
    assert ids(search(index, new, 2, [1, 0])) == ["z"]
    assert new.calls == 1


def test_services_are_independent() -> None:
    index = ExactIndex()
    index.search("one", 1, three_vectors(), np.asarray([[1, 0]], dtype=np.float32), 5)
    other = CountingLoader(1, ["x"], ["X"], [[0, 1]])
    result = index.search("two", 1, other, np.asarray([[1, 0]], dtype=np.float32), 5)
    assert ids(result[0]) == ["x"]


def test_forget_drops_the_snapshot() -> None:
    index = ExactIndex()
    loader = three_vectors()
    search(index, loader, 1, [1, 0])
    index.forget(SERVICE)
    search(index, loader, 1, [1, 0])
    assert loader.calls == 2


# --- added --------------------------------------------------------------------------------------


def test_added_at_next_revision_applies_in_place_without_reload() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    index.added(SERVICE, 2, "d", "Dan", np.asarray([0, -7], dtype=np.float32))
    result = search(index, loader, 2, [0, -1])
    assert loader.calls == 1
    assert result[0] == Neighbour("d", "Dan", pytest.approx(0.0, abs=1e-6))  # type: ignore[arg-type]
    assert len(result) == 4


@pytest.mark.parametrize("revision", [1, 3, 10])
def test_added_at_non_following_revision_drops_snapshot_and_reloads(revision: int) -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    index.added(SERVICE, revision, "d", "Dan", np.asarray([0, -1], dtype=np.float32))
    result = search(index, loader, 1, [1, 0])
    assert loader.calls == 2
    assert "d" not in ids(result)


def test_added_without_snapshot_does_nothing_and_next_search_loads() -> None:
    index = ExactIndex()
    index.added(SERVICE, 1, "d", "Dan", np.asarray([0, -1], dtype=np.float32))
    loader = three_vectors(revision=1)
    assert ids(search(index, loader, 1, [1, 0])) == ["a", "c", "b"]
    assert loader.calls == 1


def test_added_to_empty_collection() -> None:
    index = ExactIndex()
    loader = CountingLoader(0, [], [], [])
    assert search(index, loader, 0, [1, 0, 0]) == []
    index.added(SERVICE, 1, "x", "Xena", np.asarray([0, 2, 0], dtype=np.float32))
    result = search(index, loader, 1, [0, 1, 0])
    assert loader.calls == 1
    assert ids(result) == ["x"]
    assert result[0].distance == pytest.approx(0.0, abs=1e-6)
    assert index.dimension(SERVICE, 1, loader) == 3


def test_added_with_other_dimension_drops_snapshot() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    index.added(SERVICE, 2, "d", "Dan", np.asarray([1, 0, 0], dtype=np.float32))
    loader.revision = 2
    search(index, loader, 2, [1, 0])
    assert loader.calls == 2


def test_growth_past_initial_capacity_keeps_every_row() -> None:
    index = ExactIndex()
    loader = CountingLoader(0, [], [], [])
    dimension = 50
    assert search(index, loader, 0, [1.0] + [0.0] * (dimension - 1)) == []
    for i in range(40):  # initial capacity is 16 rows; grows at least twice
        vector = np.zeros(dimension, dtype=np.float32)
        vector[i] = 1.0
        index.added(SERVICE, i + 1, f"id{i}", f"s{i}", vector)
    assert loader.calls == 1
    assert index.size(SERVICE, 40, loader) == 40
    for i in (0, 15, 16, 31, 32, 39):
        query = [0.0] * dimension
        query[i] = 1.0
        best = search(index, loader, 40, query, k=1)[0]
        assert (best.image_id, best.subject) == (f"id{i}", f"s{i}")
        assert best.distance == pytest.approx(0.0, abs=1e-6)
    assert sorted(ids(search(index, loader, 40, [1.0] * dimension, k=100))) == sorted(f"id{i}" for i in range(40))


def test_growth_from_a_loaded_collection_of_exactly_sixteen_rows() -> None:
    rows = np.eye(20, dtype=np.float32)[:16].tolist()
    loader = CountingLoader(1, [f"id{i}" for i in range(16)], [f"s{i}" for i in range(16)], rows)
    index = ExactIndex()
    assert index.size(SERVICE, 1, loader) == 16
    index.added(SERVICE, 2, "id16", "s16", np.eye(20, dtype=np.float32)[16])
    assert index.size(SERVICE, 2, loader) == 17
    everything = search(index, loader, 2, [1.0] * 20, k=100)
    assert sorted(ids(everything)) == sorted(f"id{i}" for i in range(17))
    assert loader.calls == 1


def test_search_holding_old_snapshot_is_unaffected_by_later_append() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    old = index._snapshots[SERVICE]  # what a search in flight holds
    index.added(SERVICE, 2, "d", "Dan", np.asarray([1, 0], dtype=np.float32))
    assert old.count == 3
    assert old.matrix.shape == (3, 2)
    assert old.image_ids[: old.count] == ["a", "b", "c"]
    new = index._snapshots[SERVICE]
    assert new is not old
    assert new.count == 4
    # the appended row lives past the old snapshot's count, so the old view's rows are unchanged
    np.testing.assert_allclose(old.matrix, np.array([[1, 0], [0, 1], [math.sqrt(0.5), math.sqrt(0.5)]]), atol=1e-6)


def test_old_snapshot_unaffected_by_append_that_grows_buffer() -> None:
    rows = np.eye(16, dtype=np.float32).tolist()
    loader = CountingLoader(1, [f"id{i}" for i in range(16)], ["s"] * 16, rows)
    index = ExactIndex()
    index.size(SERVICE, 1, loader)
    old = index._snapshots[SERVICE]
    before = old.matrix.copy()
    index.added(SERVICE, 2, "new", "s", np.ones(16, dtype=np.float32))
    np.testing.assert_array_equal(old.matrix, before)
    assert old.count == 16


# --- removed ------------------------------------------------------------------------------------


def test_removed_at_next_revision_applies_in_place() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    index.removed(SERVICE, 2, ["a", "unknown"])
    result = search(index, loader, 2, [1, 0])
    assert loader.calls == 1
    assert ids(result) == ["c", "b"]
    assert result[0].distance == pytest.approx(math.sqrt(2 - math.sqrt(2)), abs=1e-6)


def test_removed_everything_then_added() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    index.removed(SERVICE, 2, ["a", "b", "c"])
    assert search(index, loader, 2, [1, 0]) == []
    index.added(SERVICE, 3, "d", "Dan", np.asarray([1, 0], dtype=np.float32))
    assert ids(search(index, loader, 3, [1, 0])) == ["d"]
    assert loader.calls == 1


def test_removed_at_non_following_revision_drops_snapshot() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    index.removed(SERVICE, 5, ["a"])
    assert ids(search(index, loader, 1, [1, 0])) == ["a", "c", "b"]
    assert loader.calls == 2


def test_removed_keeps_old_snapshot_intact() -> None:
    index = ExactIndex()
    loader = three_vectors(revision=1)
    search(index, loader, 1, [1, 0])
    old = index._snapshots[SERVICE]
    index.removed(SERVICE, 2, ["b"])
    assert old.count == 3
    assert old.image_ids[: old.count] == ["a", "b", "c"]


# --- renamed ------------------------------------------------------------------------------------


def test_renamed_at_next_revision_applies_in_place() -> None:
    loader = CountingLoader(1, ["a", "b", "c"], ["Tom", "Ann", "Tom"], [[1, 0], [0, 1], [1, 1]])
    index = ExactIndex()
    search(index, loader, 1, [1, 0])
    index.renamed(SERVICE, 2, "Tom", "Thomas")
    result = search(index, loader, 2, [1, 0])
    assert loader.calls == 1
    assert [(n.image_id, n.subject) for n in result] == [("a", "Thomas"), ("c", "Thomas"), ("b", "Ann")]


def test_renamed_is_case_sensitive_on_stored_spelling() -> None:
    loader = CountingLoader(1, ["a"], ["Tom"], [[1, 0]])
    index = ExactIndex()
    search(index, loader, 1, [1, 0])
    index.renamed(SERVICE, 2, "tom", "X")
    assert search(index, loader, 2, [1, 0])[0].subject == "Tom"


def test_renamed_at_non_following_revision_drops_snapshot() -> None:
    loader = CountingLoader(1, ["a"], ["Tom"], [[1, 0]])
    index = ExactIndex()
    search(index, loader, 1, [1, 0])
    index.renamed(SERVICE, 3, "Tom", "Thomas")
    assert search(index, loader, 1, [1, 0])[0].subject == "Tom"
    assert loader.calls == 2


def test_renamed_keeps_old_snapshot_subjects() -> None:
    loader = CountingLoader(1, ["a"], ["Tom"], [[1, 0]])
    index = ExactIndex()
    search(index, loader, 1, [1, 0])
    old = index._snapshots[SERVICE]
    index.renamed(SERVICE, 2, "Tom", "Thomas")
    assert old.subjects == ["Tom"]


def test_rename_then_append_then_remove_chain() -> None:
    loader = CountingLoader(1, ["a", "b"], ["Tom", "Ann"], [[1, 0], [0, 1]])
    index = ExactIndex()
    search(index, loader, 1, [1, 0])
    index.renamed(SERVICE, 2, "Tom", "Thomas")
    index.added(SERVICE, 3, "c", "Tom", np.asarray([1, 1], dtype=np.float32))
    index.removed(SERVICE, 4, ["b"])
    result = search(index, loader, 4, [1, 0])
    assert [(n.image_id, n.subject) for n in result] == [("a", "Thomas"), ("c", "Tom")]
    assert loader.calls == 1


# --- concurrency --------------------------------------------------------------------------------


class Truth:
    """A fake database: rows and a revision, changed under a lock, read by the loader."""

    def __init__(self, dimension: int) -> None:
        self.lock = threading.Lock()
        self.revision = 0
        self.image_ids: list[str] = []
        self.subjects: list[str] = []
        self.rows: list[np.ndarray] = []
        self.dimension = dimension

    def load(self) -> LoadedCollection:
        with self.lock:
            matrix = np.asarray(self.rows, dtype=np.float32) if self.rows else np.zeros((0, self.dimension))
            return LoadedCollection(self.revision, list(self.image_ids), list(self.subjects), matrix)

    def append(self, image_id: str, vector: np.ndarray) -> int:
        with self.lock:
            self.image_ids.append(image_id)
            self.subjects.append(f"subject-{image_id}")
            self.rows.append(vector)
            self.revision += 1
            return self.revision


def test_concurrent_searches_and_appends_stay_consistent() -> None:
    dimension = 8
    truth = Truth(dimension)
    index = ExactIndex()
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, dimension)).astype(np.float32)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(offset: int) -> None:
        try:
            for i in range(offset, len(vectors), 2):
                image_id = f"id{i}"
                revision = truth.append(image_id, vectors[i])
                index.added(SERVICE, revision, image_id, f"subject-{image_id}", vectors[i])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def reader(seed: int) -> None:
        local = np.random.default_rng(seed)
        try:
            while not done.is_set():
                revision = truth.revision
                queries = local.normal(size=(3, dimension)).astype(np.float32)
                for neighbours in index.search(SERVICE, revision, truth.load, queries, 5):
                    assert len(neighbours) <= 5
                    assert len(neighbours) == len({n.image_id for n in neighbours})
                    distances = [n.distance for n in neighbours]
                    assert distances == sorted(distances)
                    for n in neighbours:
                        assert n.image_id.startswith("id")
                        assert n.subject == f"subject-{n.image_id}"
                        assert 0.0 <= n.distance <= 2.0 + 1e-6
                        assert 0 <= int(n.image_id[2:]) < len(vectors)
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader, args=(seed,), daemon=True) for seed in range(4)]
    writers = [threading.Thread(target=writer, args=(offset,), daemon=True) for offset in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=30)
    done.set()
    for thread in readers:
        thread.join(timeout=30)
    assert errors == []
    final = index.search(SERVICE, truth.revision, truth.load, vectors[:1], 1000)[0]
    assert sorted(ids(final)) == sorted(f"id{i}" for i in range(len(vectors)))
    assert final[0].image_id == "id0"


def test_concurrent_search_distances_match_brute_force() -> None:
    """Whatever snapshot a search sees, each reported distance is the true one for that image."""
    dimension = 4
    truth = Truth(dimension)
    index = ExactIndex()
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(200, dimension)).astype(np.float32)
    normalised = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        for i in range(len(vectors)):
            revision = truth.append(f"id{i}", vectors[i])
            index.added(SERVICE, revision, f"id{i}", f"subject-id{i}", vectors[i])

    def reader() -> None:
        query = np.asarray([[1, 0, 0, 0]], dtype=np.float32)
        try:
            while not done.is_set():
                for n in index.search(SERVICE, truth.revision, truth.load, query, 3)[0]:
                    true = float(np.linalg.norm(normalised[int(n.image_id[2:])] - query[0]))
                    assert n.distance == pytest.approx(true, abs=1e-4)
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        writer()
    finally:
        done.set()
    for thread in readers:
        thread.join(timeout=30)
    assert errors == []
