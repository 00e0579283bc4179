"""One service's collection in memory: a float32 matrix of L2-normalised rows, the rows' image ids packed
in 16 bytes, and an int32 subject code per row. That is all the memory there is per example (532 bytes
for a 128-d embedding, 1.04x the raw matrix), plus one string per subject.

- Growth is amortised: capacity grows by a sixteenth (at least 1,024 rows), so appends copy each row a
  bounded number of times and spare room stays under 7%.
- A delete is a tombstone (subject code -1, row masked in searches); when tombstones pass an eighth of
  the rows, live rows from the tail move into the holes (work proportional to the tombstones, not to N).
- Renaming a subject renames one string; merging two rewrites one int32 array.
- Searches share a readers-writer lock; a change takes it alone for the microseconds it needs, so a
  search never sees half a change. Growth copies outside the exclusive section.
- Changes apply only in log order: `position` is the sequence number of the last change applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from facekeeper.index import buffers
from facekeeper.index.base import Neighbour
from facekeeper.index.changes import Added, Change, Removed, Renamed, Reset
from facekeeper.index.ids import pack_ids, unpack_id
from facekeeper.index.locks import ReadWriteLock

DEAD = -1
MIN_GROWTH_ROWS = 1024
GROWTH_FRACTION = 16  # grow by count / 16
COMPACT_FRACTION = 8  # compact when tombstones exceed count / 8
SUBJECT_OVERHEAD_BYTES = 120  # a subject's name string, list slot and dict entry, roughly


@dataclass(frozen=True)
class SnapshotView:
    position: int
    generation: int
    matrix: np.ndarray
    ids: np.ndarray
    codes: np.ndarray
    names: list[str | None]


class NeedsFullLoad(Exception):
    """A change this copy cannot apply (a reset, another dimension): reload from the database."""


class Accelerator(Protocol):
    """An approximate index over rows of a collection, labelled by row number."""

    @property
    def nbytes(self) -> int: ...

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, rows: np.ndarray) -> None: ...

    def candidates(self, queries: np.ndarray, k: int) -> np.ndarray:
        """(queries, k') candidate row numbers, -1 where there are fewer."""
        ...


def spare_rows(rows: int) -> int:
    """Room a collection of `rows` is loaded with: the first adds after a load copy nothing."""
    return max(rows // GROWTH_FRACTION, MIN_GROWTH_ROWS)


def normalize_rows(matrix: np.ndarray) -> None:
    """In place: unit-length rows, zero rows left zero. Stored embeddings are normalised when saved, but
    a collection migrated from CompreFace may not be."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    matrix /= norms


class CollectionStore:
    def __init__(self, position: int, dimension: int = 0, capacity: int = 0) -> None:
        self.position = position
        self._rw = ReadWriteLock()
        self._writer = threading.Lock()  # one change (or load) at a time; searches are not blocked by it
        self._matrix = buffers.empty((capacity, dimension), np.float32)
        self._ids = buffers.empty((capacity, 2), np.uint64)
        self._codes = buffers.empty((capacity,), np.int32)
        self._count = 0  # rows in use, tombstones included
        self._dead_rows = np.empty(0, dtype=np.int64)
        self._names: list[str] = []
        self._code_of: dict[str, int] = {}
        self.accelerator: Accelerator | None = None
        self.accelerated_size = 0  # live rows when the accelerator was built
        self.generation = 0  # bumped when rows move, so an accelerator built meanwhile is known stale

    # --- reading ------------------------------------------------------------------------------------

    @property
    def dimension(self) -> int | None:
        return self._matrix.shape[1] if self.size else None

    @property
    def size(self) -> int:
        """Live examples."""
        return self._count - len(self._dead_rows)

    @property
    def nbytes(self) -> int:
        arrays = self._matrix.nbytes + self._ids.nbytes + self._codes.nbytes + self._dead_rows.nbytes
        accelerator = self.accelerator.nbytes if self.accelerator is not None else 0
        return arrays + accelerator + SUBJECT_OVERHEAD_BYTES * len(self._names)

    def search(self, queries: np.ndarray, k: int) -> list[list[Neighbour]]:
        """Top-k live rows per L2-normalised query row, nearest first."""
        with self._rw.reading():
            k = min(k, self.size)
            if k <= 0:
                return [[] for _ in range(len(queries))]
            top = self._exact_top if self.accelerator is None else self._approximate_top
            rows = top(queries, k)
            return [self._neighbours(query, found, k) for query, found in zip(queries, rows, strict=True)]

    def _exact_top(self, queries: np.ndarray, k: int) -> list[np.ndarray]:
        cosines = queries @ self._matrix[: self._count].T  # (queries, count)
        if len(self._dead_rows):
            cosines[:, self._dead_rows] = -np.inf
        if k < self._count:
            return list(np.argpartition(-cosines, k - 1, axis=1)[:, :k])
        return list(np.broadcast_to(np.arange(self._count), (len(queries), self._count)))

    def _approximate_top(self, queries: np.ndarray, k: int) -> list[np.ndarray]:
        assert self.accelerator is not None
        candidates = self.accelerator.candidates(queries, k)
        return [found[(found >= 0) & (found < self._count)] for found in candidates]

    def _neighbours(self, query: np.ndarray, rows: np.ndarray, k: int) -> list[Neighbour]:
        rows = rows[self._codes[rows] != DEAD]
        cosines = self._matrix[rows] @ query
        order = np.lexsort((rows, -cosines))[:k]  # nearest first; ties in row order, so results are stable
        distances = np.sqrt(np.clip(2.0 - 2.0 * cosines[order], 0.0, 4.0))
        return [
            Neighbour(unpack_id(self._ids[row]), self._names[self._codes[row]], float(distance))
            for row, distance in zip(rows[order], distances, strict=True)
        ]

    def live_rows(self) -> np.ndarray:
        with self._rw.reading():
            return np.flatnonzero(self._codes[: self._count] != DEAD)

    # --- loading ------------------------------------------------------------------------------------

    def load_rows(self, image_ids: Sequence[str], subjects: Sequence[str], matrix: np.ndarray) -> None:
        """Append rows while the store is not yet published (a full load), so no lock is needed."""
        if not len(image_ids):
            return
        self._reserve(len(image_ids), matrix.shape[1])
        end = self._count + len(image_ids)
        rows = self._matrix[self._count : end]
        rows[:] = matrix
        normalize_rows(rows)
        self._ids[self._count : end] = pack_ids(image_ids)
        self._codes[self._count : end] = [self._intern(name) for name in subjects]
        self._count = end

    @classmethod
    def from_arrays(
        cls,
        position: int,
        count: int,
        matrix: np.ndarray,
        ids: np.ndarray,
        codes: np.ndarray,
        names: list[str | None],
    ) -> CollectionStore:
        """A store over arrays read from a snapshot file: rows already normalised, `count` of them in use
        (tombstones included, as code -1), the rest spare room."""
        store = cls(position)
        store._matrix, store._ids, store._codes, store._count = matrix, ids, codes, count
        store._dead_rows = np.flatnonzero(codes[:count] == DEAD).astype(np.int64)
        store._names = [name if name is not None else "" for name in names]  # "" : no row has that code
        store._code_of = {name: code for code, name in enumerate(names) if name is not None}
        return store

    def snapshot_view(self) -> SnapshotView:
        """What a snapshot file needs, consistent at one position, taken in microseconds: rows below the
        count never change except by compaction (so the matrix and ids are referenced, not copied, and
        `generation` tells whether a compaction moved them meanwhile); codes and names are copied."""
        with self._writer:
            count = self._count
            return SnapshotView(
                self.position,
                self.generation,
                self._matrix[:count],
                self._ids[:count],
                self._codes[:count].copy(),
                # A merged subject's old name stays in `_names` unused: written as null, so a load never
                # mistakes it for the live code of a name used again since.
                [name if self._code_of.get(name) == code else None for code, name in enumerate(self._names)],
            )

    # --- approximate search -------------------------------------------------------------------------

    def build_accelerator(self, make: Callable[[np.ndarray, np.ndarray], Accelerator]) -> bool:
        """Build an approximate index over the live rows (`make(rows, matrix)`, seconds to a minute at a
        million) while searches and changes go on, then catch it up with the changes made meanwhile and
        switch searches to it. False when a compaction moved rows meanwhile (try again later)."""
        view = self.snapshot_view()
        live = np.flatnonzero(view.codes != DEAD)
        accelerator = make(live, view.matrix)
        with self._writer:
            if self.generation != view.generation:
                return False
            added = np.arange(len(view.codes), self._count)
            added = added[self._codes[added] != DEAD]
            if len(added):
                accelerator.add(added, self._matrix[added])
            died = live[self._codes[live] == DEAD]
            if len(died):
                accelerator.remove(died)
            with self._rw.writing():
                self.accelerator = accelerator
                self.accelerated_size = self.size
        return True

    # --- changes ------------------------------------------------------------------------------------

    def apply(self, changes: Iterable[tuple[int, Change]]) -> None:
        """Apply (sequence number, change) pairs that follow `position`, in order. Raises NeedsFullLoad
        for a change that only a reload describes; the caller then drops this copy."""
        with self._writer:
            for seq, change in changes:
                if seq <= self.position:
                    continue  # already applied (a write this process made, replayed from the log)
                if seq != self.position + 1:
                    raise NeedsFullLoad(f"change {seq} does not follow position {self.position}")
                self._apply_one(change)
                self.position = seq
            if len(self._dead_rows) > max(MIN_GROWTH_ROWS, self._count // COMPACT_FRACTION):
                self._compact()

    def _apply_one(self, change: Change) -> None:
        if isinstance(change, Added):
            self._add(change)
        elif isinstance(change, Removed):
            self._remove(change)
        elif isinstance(change, Renamed):
            self._rename(change.old_subject, change.new_subject)
        elif isinstance(change, Reset):
            raise NeedsFullLoad("reset")

    def _add(self, change: Added) -> None:
        if change.vector is None:
            return  # the example was deleted before its vector could be fetched; a later change removes it
        row = np.asarray(change.vector, dtype=np.float32).reshape(1, -1).copy()
        if self.size and row.shape[1] != self._matrix.shape[1]:
            raise NeedsFullLoad("an example of another dimension")
        self._reserve(1, row.shape[1])
        normalize_rows(row)
        packed = pack_ids([change.image_id])
        code = self._intern(change.subject)
        # Rows at or past `_count` are invisible to searches: fill, then publish by raising the count.
        at = self._count
        self._matrix[at] = row[0]
        self._ids[at] = packed[0]
        self._codes[at] = code
        with self._rw.writing():
            self._count = at + 1
        if self.accelerator is not None:
            self.accelerator.add(np.array([at]), row)

    def _remove(self, change: Removed) -> None:
        codes = self._codes[: self._count]
        if change.subject is not None:
            code = self._code_of.get(change.subject)
            rows = np.flatnonzero(codes == code) if code is not None else np.empty(0, dtype=np.int64)
        else:
            rows = self._rows_of(change.image_ids)
        if not len(rows):
            return
        with self._rw.writing():
            self._codes[rows] = DEAD
            self._dead_rows = np.union1d(self._dead_rows, rows)
        if self.accelerator is not None:
            self.accelerator.remove(rows)

    def _rows_of(self, image_ids: Sequence[str]) -> np.ndarray:
        if not image_ids:
            return np.empty(0, dtype=np.int64)
        wanted = pack_ids(image_ids)
        ids = self._ids[: self._count]
        candidates = np.flatnonzero(np.isin(ids[:, 0], wanted[:, 0]))
        wanted_pairs = {(int(hi), int(lo)) for hi, lo in wanted}
        return np.array(
            [
                row
                for row in candidates
                if (int(ids[row, 0]), int(ids[row, 1])) in wanted_pairs and self._codes[row] != DEAD
            ],
            dtype=np.int64,
        )

    def _rename(self, old: str, new: str) -> None:
        code = self._code_of.get(old)
        if code is None:
            return  # no example of that subject here
        target = self._code_of.get(new)
        with self._rw.writing():
            del self._code_of[old]
            if target is None:
                self._names[code] = new
                self._code_of[new] = code
            else:  # a merge into a subject that already has examples
                codes = self._codes[: self._count]
                codes[codes == code] = target

    def _intern(self, name: str) -> int:
        code = self._code_of.get(name)
        if code is None:
            code = self._code_of[name] = len(self._names)
            self._names.append(name)
        return code

    def _reserve(self, extra: int, dimension: int) -> None:
        """Room for `extra` more rows. A new buffer is filled while searches go on reading the old one,
        and swapped in under the exclusive lock."""
        needed = self._count + extra
        if needed <= len(self._matrix) and self._matrix.shape[1] == dimension:
            return
        capacity = max(needed, self._count + max(self._count // GROWTH_FRACTION, MIN_GROWTH_ROWS))
        matrix = buffers.empty((capacity, dimension), np.float32)
        ids = buffers.empty((capacity, 2), np.uint64)
        codes = buffers.empty((capacity,), np.int32)
        if self._count:
            matrix[: self._count] = self._matrix[: self._count]
            ids[: self._count] = self._ids[: self._count]
            codes[: self._count] = self._codes[: self._count]
        with self._rw.writing():
            self._matrix, self._ids, self._codes = matrix, ids, codes

    def _compact(self) -> None:
        """Move live rows from the tail into the holes left by tombstones."""
        with self._rw.writing():
            live = self.size
            holes = self._dead_rows[self._dead_rows < live]
            tail = np.arange(live, self._count)
            movers = tail[self._codes[live : self._count] != DEAD]
            assert len(holes) == len(movers)
            self._matrix[holes] = self._matrix[movers]
            self._ids[holes] = self._ids[movers]
            self._codes[holes] = self._codes[movers]
            self._count = live
            self._dead_rows = np.empty(0, dtype=np.int64)
            self.generation += 1
            if self.accelerator is not None:  # dead rows already left it when they died
                self.accelerator.remove(movers)
                self.accelerator.add(holes, self._matrix[holes])
