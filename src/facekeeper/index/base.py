"""What the use cases need from an index, so an approximate or out-of-process one can replace the
in-memory one. A collection is identified by its service id and follows the change log: `position` is
the sequence number of the last change it reflects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from facekeeper.index.changes import Change

if TYPE_CHECKING:
    from facekeeper.index.collection import SnapshotView
    from facekeeper.index.snapshot import SnapshotData


@dataclass(frozen=True)
class Neighbour:
    image_id: str
    subject: str
    distance: float  # Euclidean, between L2-normalised vectors


class IndexedCollection(Protocol):
    """One service's collection as held by an index."""

    @property
    def position(self) -> int: ...

    @property
    def dimension(self) -> int | None:
        """The stored vectors' length; None while the collection is empty."""
        ...

    @property
    def size(self) -> int: ...

    @property
    def nbytes(self) -> int: ...

    @property
    def generation(self) -> int:
        """Bumped whenever rows move (a compaction)."""
        ...

    def search(self, queries: np.ndarray, k: int) -> list[list[Neighbour]]:
        """Top-k stored examples per query row (queries L2-normalised), nearest first."""
        ...

    def snapshot_view(self) -> SnapshotView:
        """The arrays a snapshot file holds, consistent at one position."""
        ...

    def apply(self, changes: Sequence[tuple[int, Change]]) -> None:
        """Apply (sequence number, change) pairs following `position`; raises NeedsFullLoad."""
        ...


class LoadingCollection(IndexedCollection, Protocol):
    """A collection being filled by a full load, before it is installed."""

    def load_rows(self, image_ids: Sequence[str], subjects: Sequence[str], matrix: np.ndarray) -> None: ...


class VectorIndex(Protocol):
    def get(self, service_id: str) -> IndexedCollection | None:
        """The collection held for this service, if any (and mark it recently used)."""
        ...

    def new_collection(self, position: int, dimension: int, capacity: int) -> LoadingCollection:
        """An empty collection at `position` with room for `capacity` rows, to fill and `install`."""
        ...

    def restore(self, snapshot: SnapshotData) -> LoadingCollection:
        """A collection over arrays read from a snapshot file, to catch up and `install`."""
        ...

    def install(self, service_id: str, collection: LoadingCollection, approximate: bool = False) -> None:
        """Hold a fully loaded collection; `approximate` allows an approximate search structure."""
        ...

    def apply(self, service_id: str, changes: Sequence[tuple[int, Change]]) -> bool:
        """Apply (sequence number, change) pairs in order. False when no collection is held or it
        cannot follow (it is then dropped, and the next use loads it in full)."""
        ...

    def forget(self, service_id: str) -> None: ...

    def held(self) -> dict[str, IndexedCollection]:
        """Every collection held now, by service id."""
        ...

    def shutdown(self) -> None:
        """Stop background work (approximate index builds)."""
        ...
