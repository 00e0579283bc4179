"""Exact nearest-neighbour search: one L2-normalised float32 matrix per service, one matrix product
per request.

Readers never take a lock and never copy: a collection is published as an immutable snapshot (a
buffer, a row count and two lists). Appends write past the published row count and then publish a
snapshot with a larger count, so a search that started earlier keeps seeing a consistent prefix.
Removals and renames build a new snapshot. A change is applied in place only when it follows the
revision the snapshot was built at; otherwise the snapshot is dropped and reloaded on next use, which
is also how writes made by another process (the CLI, another worker) become visible.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from facekeeper.domain import l2_normalize
from facekeeper.index.base import CollectionLoader, Neighbour


@dataclass(frozen=True)
class _Snapshot:
    revision: int
    buffer: np.ndarray  # (capacity, dimension); rows >= count are scratch space for appends
    count: int
    image_ids: list[str]
    subjects: list[str]

    @property
    def matrix(self) -> np.ndarray:
        return self.buffer[: self.count]


def _snapshot(revision: int, image_ids: list[str], subjects: list[str], matrix: np.ndarray) -> _Snapshot:
    count = len(image_ids)
    dimension = matrix.shape[1] if matrix.ndim == 2 and count else 0
    buffer = np.zeros((max(count, 16), dimension), dtype=np.float32)
    if count:
        buffer[:count] = l2_normalize(matrix)
    return _Snapshot(revision, buffer, count, list(image_ids), list(subjects))


class ExactIndex:
    def __init__(self) -> None:
        self._snapshots: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()  # serialises loads and changes, never searches

    def _current(self, service_id: str, revision: int, loader: CollectionLoader) -> _Snapshot:
        snapshot = self._snapshots.get(service_id)
        if snapshot is not None and snapshot.revision == revision:
            return snapshot
        with self._lock:
            snapshot = self._snapshots.get(service_id)
            if snapshot is None or snapshot.revision != revision:
                loaded = loader()
                snapshot = _snapshot(loaded.revision, loaded.image_ids, loaded.subjects, loaded.matrix)
                self._snapshots[service_id] = snapshot
            return snapshot

    def dimension(self, service_id: str, revision: int, loader: CollectionLoader) -> int | None:
        snapshot = self._current(service_id, revision, loader)
        return snapshot.buffer.shape[1] if snapshot.count else None

    def size(self, service_id: str, revision: int, loader: CollectionLoader) -> int:
        return self._current(service_id, revision, loader).count

    def search(
        self, service_id: str, revision: int, loader: CollectionLoader, queries: np.ndarray, k: int
    ) -> list[list[Neighbour]]:
        snapshot = self._current(service_id, revision, loader)
        if snapshot.count == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        cosines = l2_normalize(queries) @ snapshot.matrix.T  # (queries, count)
        k = min(k, snapshot.count)
        results: list[list[Neighbour]] = []
        for row in cosines:
            top = np.argpartition(-row, k - 1)[:k] if k < snapshot.count else np.arange(snapshot.count)
            top = top[np.argsort(-row[top], kind="stable")]
            distances = np.sqrt(np.clip(2.0 - 2.0 * row[top], 0.0, 4.0))
            results.append(
                [
                    Neighbour(snapshot.image_ids[i], snapshot.subjects[i], float(d))
                    for i, d in zip(top, distances, strict=True)
                ]
            )
        return results

    def _follows(self, service_id: str, revision: int) -> _Snapshot | None:
        """The snapshot a change at `revision` may be applied to, or None after dropping a stale one."""
        snapshot = self._snapshots.get(service_id)
        if snapshot is not None and snapshot.revision == revision - 1:
            return snapshot
        self._snapshots.pop(service_id, None)
        return None

    def added(self, service_id: str, revision: int, image_id: str, subject: str, vector: np.ndarray) -> None:
        row = l2_normalize(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        with self._lock:
            snapshot = self._follows(service_id, revision)
            if snapshot is None:
                return
            buffer = snapshot.buffer
            if snapshot.count and buffer.shape[1] != row.shape[1]:
                self._snapshots.pop(service_id, None)
                return
            if snapshot.count == buffer.shape[0] or buffer.shape[1] != row.shape[1]:
                grown = np.zeros((max(16, 2 * buffer.shape[0]), row.shape[1]), dtype=np.float32)
                if snapshot.count:
                    grown[: snapshot.count] = buffer[: snapshot.count]
                buffer = grown
            buffer[snapshot.count] = row[0]
            # Lists are only appended to: positions below `count` never change for earlier readers.
            snapshot.image_ids.append(image_id)
            snapshot.subjects.append(subject)
            self._snapshots[service_id] = _Snapshot(
                revision, buffer, snapshot.count + 1, snapshot.image_ids, snapshot.subjects
            )

    def removed(self, service_id: str, revision: int, image_ids: list[str]) -> None:
        gone = set(image_ids)
        with self._lock:
            snapshot = self._follows(service_id, revision)
            if snapshot is None:
                return
            keep = [i for i, image_id in enumerate(snapshot.image_ids[: snapshot.count]) if image_id not in gone]
            self._snapshots[service_id] = _snapshot(
                revision,
                [snapshot.image_ids[i] for i in keep],
                [snapshot.subjects[i] for i in keep],
                snapshot.matrix[keep],
            )

    def renamed(self, service_id: str, revision: int, old_subject: str, new_subject: str) -> None:
        with self._lock:
            snapshot = self._follows(service_id, revision)
            if snapshot is None:
                return
            subjects = [new_subject if s == old_subject else s for s in snapshot.subjects[: snapshot.count]]
            self._snapshots[service_id] = _Snapshot(
                revision, snapshot.buffer, snapshot.count, snapshot.image_ids, subjects
            )

    def forget(self, service_id: str) -> None:
        with self._lock:
            self._snapshots.pop(service_id, None)
