"""The interface a vector index implements, so an approximate index can replace the exact one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Neighbour:
    image_id: str
    subject: str
    distance: float  # Euclidean, between L2-normalised vectors


@dataclass(frozen=True)
class LoadedCollection:
    """What the loader returns: a collection as stored, and the revision it was read at."""

    revision: int
    image_ids: list[str]
    subjects: list[str]
    matrix: np.ndarray


CollectionLoader = Callable[[], LoadedCollection]


class VectorIndex(Protocol):
    def search(
        self, service_id: str, revision: int, loader: CollectionLoader, queries: np.ndarray, k: int
    ) -> list[list[Neighbour]]:
        """Top-k stored examples per query row (queries L2-normalised), nearest first."""
        ...

    def added(self, service_id: str, revision: int, image_id: str, subject: str, vector: np.ndarray) -> None: ...

    def removed(self, service_id: str, revision: int, image_ids: list[str]) -> None: ...

    def renamed(self, service_id: str, revision: int, old_subject: str, new_subject: str) -> None: ...

    def forget(self, service_id: str) -> None: ...
