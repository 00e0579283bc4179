"""Approximate search: a faiss IVF-PQ accelerator finds the right identity on clustered data, follows
every kind of change like the exact scan, and is built only for services that allow it, at their size."""

from __future__ import annotations

import numpy as np
import pytest

from facekeeper.index.approximate import IvfPqAccelerator
from facekeeper.index.changes import Added, Removed, Renamed
from facekeeper.index.collection import CollectionStore
from facekeeper.index.memory import InMemoryIndex
from tests.index.support import uid

DIMENSION = 64
IDENTITIES = 600
PER_IDENTITY = 8


def clustered(rng: np.random.Generator, identities: int = IDENTITIES) -> tuple[np.ndarray, np.ndarray]:
    """(centres, samples): samples of one identity at cosine ~0.6 to each other, as face embeddings."""
    centres = rng.normal(size=(identities, DIMENSION)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(size=(identities * PER_IDENTITY, DIMENSION)).astype(np.float32) * np.sqrt(2 / 3 / DIMENSION)
    samples = np.repeat(centres, PER_IDENTITY, axis=0) + noise
    return centres, samples / np.linalg.norm(samples, axis=1, keepdims=True)


def collection_of(samples: np.ndarray) -> CollectionStore:
    store = CollectionStore(1, DIMENSION, len(samples))
    names = [f"person {row // PER_IDENTITY}" for row in range(len(samples))]
    store.load_rows([uid(row) for row in range(len(samples))], names, samples)
    return store


def queries_of(rng: np.random.Generator, centres: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """New samples (not stored) of random identities, and which identity each is."""
    who = rng.integers(0, len(centres), count)
    queries = centres[who] + rng.normal(size=(count, DIMENSION)).astype(np.float32) * np.sqrt(2 / 3 / DIMENSION)
    return queries / np.linalg.norm(queries, axis=1, keepdims=True), who


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(np.random.default_rng(5))


def test_recall_on_face_like_data(data: tuple[np.ndarray, np.ndarray]) -> None:
    centres, samples = data
    exact, approximate = collection_of(samples), collection_of(samples)
    assert approximate.build_accelerator(IvfPqAccelerator.build)
    assert approximate.accelerator is not None
    queries, _ = queries_of(np.random.default_rng(6), centres, 300)
    same = sum(
        a[0].image_id == e[0].image_id
        for a, e in zip(approximate.search(queries, 1), exact.search(queries, 1), strict=True)
    )
    assert same / len(queries) >= 0.9
    # Each answer is ranked exactly: its distance is the true one, not the codes' estimate.
    top = approximate.search(queries[:1], 3)[0]
    rows = [int(n.image_id.rsplit("-", 1)[1]) for n in top]
    true = np.sqrt(np.clip(2 - 2 * samples[rows] @ queries[0], 0, 4))
    assert np.allclose([n.distance for n in top], true, atol=1e-5)


def test_the_accelerator_follows_changes(data: tuple[np.ndarray, np.ndarray]) -> None:
    centres, samples = data
    store = collection_of(samples)
    assert store.build_accelerator(IvfPqAccelerator.build)
    far = np.zeros(DIMENSION, dtype=np.float32)
    far[0] = 1.0
    store.apply([(2, Added(uid(99_999), "newcomer", far))])
    assert store.search(far[None, :], 1)[0][0].image_id == uid(99_999)

    identity = 7
    rows = range(identity * PER_IDENTITY, (identity + 1) * PER_IDENTITY)
    store.apply([(3, Renamed(f"person {identity}", "renamed"))])
    assert store.search(centres[identity : identity + 1], 1)[0][0].subject == "renamed"
    store.apply([(4, Removed(subject="renamed"))])
    found = {n.image_id for n in store.search(centres[identity : identity + 1], 20)[0]}
    assert not found & {uid(row) for row in rows}

    # Enough deletes to compact: rows move, and the accelerator moves them with the matrix.
    doomed = tuple(uid(row) for row in range(0, len(samples), 4))
    store.apply([(5, Removed(doomed))])
    assert store.generation == 1 and store.accelerator is not None
    for identity in (1, 300, 599):
        top = store.search(centres[identity : identity + 1], PER_IDENTITY)[0]
        assert {n.subject for n in top[:3]} == {f"person {identity}"}
        assert not {n.image_id for n in top} & set(doomed)


def test_a_build_overtaken_by_a_compaction_is_dropped(data: tuple[np.ndarray, np.ndarray]) -> None:
    _, samples = data
    store = collection_of(samples)

    def build_while_rows_move(rows: np.ndarray, matrix: np.ndarray) -> IvfPqAccelerator:
        store.apply([(2, Removed(tuple(uid(row) for row in range(0, len(samples), 4))))])  # compacts
        return IvfPqAccelerator.build(rows, matrix)

    assert not store.build_accelerator(build_while_rows_move)
    assert store.accelerator is None


def test_built_only_for_allowed_services_at_their_size(data: tuple[np.ndarray, np.ndarray]) -> None:
    _, samples = data
    index = InMemoryIndex(approximate_min_examples=len(samples))
    try:
        index.install("exact", collection_of(samples), approximate=False)
        index.install("small", collection_of(samples[:-1]), approximate=True)
        index.install("big", collection_of(samples), approximate=True)
        index.wait_for_builds()
        accelerated = {name: c.accelerator is not None for name, c in index.held().items()}  # type: ignore[attr-defined]
        assert accelerated == {"exact": False, "small": False, "big": True}
        # Growing past the threshold builds one too.
        extra = np.zeros(DIMENSION, dtype=np.float32)
        extra[1] = 1.0
        assert index.apply("small", [(2, Added(uid(123_456), "late", extra))])
        index.wait_for_builds()
        assert index.get("small").accelerator is not None  # type: ignore[union-attr]
    finally:
        index.shutdown()
