"""CollectionStore: nearest-first exact search, changes applied in log order, tombstones, compaction,
growth, and searches that run while changes apply."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from facekeeper.index.changes import Added, Removed, Renamed, Reset
from facekeeper.index.collection import MIN_GROWTH_ROWS, CollectionStore, NeedsFullLoad
from tests.index.support import ids, search, store_of, uid


def three() -> CollectionStore:
    # Deliberately not unit length: the store must normalise stored rows itself.
    return store_of(["Alice", "Bob", "Carol"], [[3, 0], [0, 5], [2, 2]])


def test_search_returns_nearest_first_with_euclidean_distances_of_normalised_vectors() -> None:
    result = search(three(), [10, 0])
    assert ids(result) == [uid(0), uid(2), uid(1)]
    assert [n.subject for n in result] == ["Alice", "Carol", "Bob"]
    expected = [0.0, math.sqrt(2 - 2 * math.cos(math.pi / 4)), math.sqrt(2)]
    assert [n.distance for n in result] == pytest.approx(expected, abs=1e-6)


def test_search_handles_several_queries_independently() -> None:
    queries = np.asarray([[1, 0], [0, 1], [-1, 0]], dtype=np.float32)
    results = three().search(queries, 1)
    assert [ids(r) for r in results] == [[uid(0)], [uid(1)], [uid(1)]]
    assert results[2][0].distance == pytest.approx(math.sqrt(2), abs=1e-6)


def test_opposite_vector_is_at_distance_two() -> None:
    farthest = search(three(), [-1, -1], k=3)[-1]
    assert farthest.image_id == uid(2)
    assert farthest.distance == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize(("k", "expected"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 3), (100, 3)])
def test_top_k_is_capped_at_collection_size(k: int, expected: int) -> None:
    assert len(search(three(), [1, 0], k=k)) == expected


def test_empty_collection() -> None:
    store = CollectionStore(0)
    assert store.search(np.asarray([[1, 0], [0, 1]], dtype=np.float32), 5) == [[], []]
    assert (store.size, store.dimension) == (0, None)


def test_equal_vectors_come_in_row_order() -> None:
    store = store_of(["A", "B", "C"], [[1, 0], [1, 0], [1, 0]])
    assert ids(search(store, [1, 0])) == [uid(0), uid(1), uid(2)]


# --- changes in log order -----------------------------------------------------------------------


def test_added_follows_position_and_needs_no_reload() -> None:
    store = three()
    store.apply([(2, Added(uid(9), "Dan", np.asarray([0, -7], dtype=np.float32)))])
    assert store.position == 2
    result = search(store, [0, -1])
    assert (result[0].image_id, result[0].subject) == (uid(9), "Dan")
    assert result[0].distance == pytest.approx(0.0, abs=1e-6)
    assert store.size == 4


def test_changes_already_applied_are_skipped() -> None:
    store = three()
    change = (2, Added(uid(9), "Dan", np.asarray([0, -1], dtype=np.float32)))
    store.apply([change])
    store.apply([change, (3, Removed((uid(0),)))])
    assert store.size == 3
    assert store.position == 3


@pytest.mark.parametrize("seq", [3, 10])
def test_a_gap_in_the_log_needs_a_full_load(seq: int) -> None:
    store = three()
    with pytest.raises(NeedsFullLoad):
        store.apply([(seq, Removed((uid(0),)))])
    assert store.position == 1


def test_reset_needs_a_full_load() -> None:
    with pytest.raises(NeedsFullLoad):
        three().apply([(2, Reset())])


def test_added_with_another_dimension_needs_a_full_load() -> None:
    with pytest.raises(NeedsFullLoad):
        three().apply([(2, Added(uid(9), "Dan", np.asarray([1, 0, 0], dtype=np.float32)))])


def test_added_without_vector_is_skipped() -> None:
    """Replayed from the log after the example was already deleted: its removal comes next."""
    store = three()
    store.apply([(2, Added(uid(9), "Dan")), (3, Removed((uid(9),)))])
    assert (store.size, store.position) == (3, 3)


def test_added_to_empty_collection_sets_the_dimension() -> None:
    store = CollectionStore(0)
    store.apply([(1, Added(uid(1), "Xena", np.asarray([0, 2, 0], dtype=np.float32)))])
    assert store.dimension == 3
    assert ids(search(store, [0, 1, 0])) == [uid(1)]


def test_removed_by_id_is_a_tombstone() -> None:
    store = three()
    store.apply([(2, Removed((uid(0), "00000000-0000-7000-8000-999999999999")))])
    result = search(store, [1, 0])
    assert ids(result) == [uid(2), uid(1)]
    assert result[0].distance == pytest.approx(math.sqrt(2 - math.sqrt(2)), abs=1e-6)
    assert store.size == 2


def test_removed_by_subject_removes_all_its_rows() -> None:
    store = store_of(["Tom", "Ann", "Tom"], [[1, 0], [0, 1], [1, 1]])
    store.apply([(2, Removed(subject="Tom"))])
    assert [n.subject for n in search(store, [1, 0])] == ["Ann"]


def test_removed_everything_then_added() -> None:
    store = three()
    store.apply([(2, Removed((uid(0), uid(1), uid(2))))])
    assert search(store, [1, 0]) == []
    store.apply([(3, Added(uid(7), "Dan", np.asarray([1, 0], dtype=np.float32)))])
    assert ids(search(store, [1, 0])) == [uid(7)]


def test_renamed_renames_every_row_of_the_subject() -> None:
    store = store_of(["Tom", "Ann", "Tom"], [[1, 0], [0, 1], [1, 1]])
    store.apply([(2, Renamed("Tom", "Thomas"))])
    assert [(n.image_id, n.subject) for n in search(store, [1, 0])] == [
        (uid(0), "Thomas"),
        (uid(2), "Thomas"),
        (uid(1), "Ann"),
    ]


def test_renamed_into_an_existing_subject_merges() -> None:
    store = store_of(["Tom", "Ann"], [[1, 0], [0, 1]])
    store.apply([(2, Renamed("Tom", "Ann")), (3, Added(uid(5), "Tom", np.asarray([1, 1], dtype=np.float32)))])
    assert {(n.image_id, n.subject) for n in search(store, [1, 0])} == {
        (uid(0), "Ann"),
        (uid(1), "Ann"),
        (uid(5), "Tom"),
    }


def test_renamed_is_case_sensitive_on_stored_spelling() -> None:
    store = store_of(["Tom"], [[1, 0]])
    store.apply([(2, Renamed("tom", "X"))])
    assert search(store, [1, 0])[0].subject == "Tom"


def test_rename_then_append_then_remove_chain() -> None:
    store = store_of(["Tom", "Ann"], [[1, 0], [0, 1]])
    store.apply(
        [
            (2, Renamed("Tom", "Thomas")),
            (3, Added(uid(2), "Tom", np.asarray([1, 1], dtype=np.float32))),
            (4, Removed((uid(1),))),
        ]
    )
    assert [(n.image_id, n.subject) for n in search(store, [1, 0])] == [(uid(0), "Thomas"), (uid(2), "Tom")]


# --- growth, tombstones, compaction ---------------------------------------------------------------


def test_growth_past_capacity_keeps_every_row_and_stays_amortised() -> None:
    store = CollectionStore(0)
    dimension = 8
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3 * MIN_GROWTH_ROWS, dimension)).astype(np.float32)
    capacities = set()
    for i, vector in enumerate(vectors):
        store.apply([(i + 1, Added(uid(i), f"s{i}", vector))])
        capacities.add(store._matrix.shape[0])
    assert store.size == len(vectors)
    assert len(capacities) <= 4  # grew a few times, not on every append
    for i in (0, MIN_GROWTH_ROWS - 1, MIN_GROWTH_ROWS, len(vectors) - 1):
        best = search(store, vectors[i].tolist(), k=1)[0]
        assert (best.image_id, best.subject) == (uid(i), f"s{i}")


def test_memory_stays_within_a_fifth_of_the_raw_matrix_after_a_load() -> None:
    rows, dimension = 20_000, 128
    matrix = np.random.default_rng(1).normal(size=(rows, dimension)).astype(np.float32)
    store = CollectionStore(1, dimension, rows + rows // 16)
    store.load_rows([uid(i) for i in range(rows)], [f"person{i // 5}" for i in range(rows)], matrix)
    assert store.nbytes <= 1.2 * matrix.nbytes


def test_compaction_moves_live_rows_into_holes_and_keeps_results() -> None:
    rows = 3 * MIN_GROWTH_ROWS
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(rows, 6)).astype(np.float32)
    store = CollectionStore(0, 6, rows)
    store.load_rows([uid(i) for i in range(rows)], [f"s{i}" for i in range(rows)], matrix.copy())
    doomed = [uid(i) for i in range(0, rows, 2)]  # half the rows: past the compaction threshold
    store.apply([(1, Removed(tuple(doomed)))])
    assert store.generation == 1, "compacted"
    assert store.size == rows - len(doomed)
    assert store._count == store.size
    for i in (1, 3, rows - 1):
        best = search(store, matrix[i].tolist(), k=1)[0]
        assert (best.image_id, best.subject) == (uid(i), f"s{i}")
    assert set(ids(search(store, [1.0] * 6, k=rows))) == {uid(i) for i in range(1, rows, 2)}


# --- concurrency ----------------------------------------------------------------------------------


def test_searches_during_changes_see_whole_changes_only() -> None:
    """Every reported distance is the true one for the reported image, whatever changes run meanwhile."""
    dimension = 8
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(3 * MIN_GROWTH_ROWS, dimension)).astype(np.float32)
    normalised = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    store = CollectionStore(0)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        seq = 0
        for i, vector in enumerate(vectors):
            seq += 1
            store.apply([(seq, Added(uid(i), f"subject-{i}", vector))])
            if i % 3 == 2:  # remove two of every three, so tombstones and compactions happen under load
                seq += 1
                store.apply([(seq, Removed((uid(i - 2), uid(i - 1))))])

    def reader(seed: int) -> None:
        local = np.random.default_rng(seed)
        try:
            while not done.is_set():
                queries = local.normal(size=(3, dimension)).astype(np.float32)
                queries /= np.linalg.norm(queries, axis=1, keepdims=True)
                for query, neighbours in zip(queries, store.search(queries, 5), strict=True):
                    assert len(neighbours) == len({n.image_id for n in neighbours}) <= 5
                    distances = [n.distance for n in neighbours]
                    assert distances == sorted(distances)
                    for n in neighbours:
                        i = int(n.image_id[-12:])
                        assert n.subject == f"subject-{i}"
                        assert n.distance == pytest.approx(float(np.linalg.norm(normalised[i] - query)), abs=1e-4)
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader, args=(seed,), daemon=True) for seed in range(3)]
    for thread in readers:
        thread.start()
    try:
        writer()
    finally:
        done.set()
    for thread in readers:
        thread.join(timeout=30)
    assert errors == []
    assert store.generation >= 1, "compacted while searches ran"
    kept = {uid(i) for i in range(len(vectors)) if i % 3 == 2}
    assert set(ids(search(store, [1.0] * dimension, k=10_000))) == kept
