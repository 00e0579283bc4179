"""Helpers for index tests: readable UUID image ids and a store built from plain rows."""

from __future__ import annotations

import numpy as np

from facekeeper.index.base import Neighbour
from facekeeper.index.collection import CollectionStore


def uid(n: int) -> str:
    """A canonical UUID whose last digits are `n`, so failures stay readable."""
    return f"00000000-0000-7000-8000-{n:012d}"


def store_of(subjects: list[str], rows: list[list[float]], position: int = 1) -> CollectionStore:
    """Rows get ids uid(0), uid(1), ..."""
    matrix = np.asarray(rows, dtype=np.float32)
    store = CollectionStore(position, matrix.shape[1], len(rows))
    store.load_rows([uid(i) for i in range(len(rows))], subjects, matrix)
    return store


def search(store: CollectionStore, query: list[float], k: int = 10) -> list[Neighbour]:
    vector = np.asarray([query], dtype=np.float32)
    return store.search(vector / np.linalg.norm(vector), k)[0]


def ids(neighbours: list[Neighbour]) -> list[str]:
    return [n.image_id for n in neighbours]
