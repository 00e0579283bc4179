"""Approximate search for big collections (a service's setting, above a size threshold): faiss IVF-PQ
over the collection's rows, whose candidates the collection then ranks exactly with its own matrix.

Why IVF-PQ: it keeps only 8 bytes of id and `dimension / 8` bytes of code per row (24 bytes for a
128-d embedding, under 5% of the raw matrix), so index memory stays within 1.2x the raw matrix; HNSW
would hold a second copy of every vector plus its graph, and takes minutes to build a million rows on
one core. Recall is set by the lists probed: the benchmark measures recall@1 on clustered, face-like
data (benchmarks/scale.py), and the exact re-ranking of `CANDIDATES` rows removes the codes' error.

faiss runs on one thread (as the BLAS does): search must never take a core from inference. One lock per
index: faiss does not allow a search during an add or a removal.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

CANDIDATES = 128  # rows ranked exactly per query
MIN_LISTS = 64
MAX_LISTS = 4096
TRAIN_ROWS_PER_LIST = 40
ADD_CHUNK_ROWS = 65_536  # rows copied out of the matrix at a time while building


def _faiss() -> Any:
    import faiss  # imported on first use: commands that never search do not pay for it

    faiss.omp_set_num_threads(1)
    return faiss


def supported(dimension: int) -> bool:
    return dimension >= 8 and dimension % 8 == 0


class IvfPqAccelerator:
    """Row numbers of a collection in an IVF-PQ index (labels are row numbers)."""

    def __init__(self, index: Any, nprobe: int) -> None:
        self._index = index
        self._index.nprobe = nprobe
        self._lock = threading.Lock()

    @classmethod
    def build(cls, rows: np.ndarray, matrix: np.ndarray, seed: int = 0) -> IvfPqAccelerator:
        """Train on a sample of `matrix[rows]` and add them all, a chunk at a time (never a second copy
        of the whole matrix)."""
        faiss = _faiss()
        dimension = int(matrix.shape[1])
        lists = int(np.clip(np.sqrt(len(rows)), MIN_LISTS, MAX_LISTS))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFPQ(quantizer, dimension, lists, dimension // 8, 8, faiss.METRIC_INNER_PRODUCT)
        for clustering in (index.cp, index.pq.cp):
            clustering.niter = 10
            clustering.min_points_per_centroid = 5  # small collections (tests) train on what there is
        rng = np.random.default_rng(seed)
        wanted = max(lists * TRAIN_ROWS_PER_LIST, 256 * TRAIN_ROWS_PER_LIST)  # 256 codes per PQ sub-space
        sample = rows if len(rows) <= wanted else rng.choice(rows, wanted, replace=False)
        index.train(np.ascontiguousarray(matrix[np.sort(sample)]))
        accelerator = cls(index, nprobe=max(16, lists // 8))
        for start in range(0, len(rows), ADD_CHUNK_ROWS):
            chunk = rows[start : start + ADD_CHUNK_ROWS]
            accelerator.add(chunk, matrix[chunk])
        return accelerator

    @property
    def nbytes(self) -> int:
        index = self._index
        per_row = index.code_size + 8
        return int(index.ntotal * per_row + index.nlist * index.d * 4 + index.pq.M * 256 * index.pq.dsub * 4)

    @property
    def nprobe(self) -> int:
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        with self._lock:
            self._index.nprobe = value

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        with self._lock:
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(rows, dtype=np.int64))

    def remove(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        selector = _faiss().IDSelectorBatch(np.asarray(rows, dtype=np.int64))
        with self._lock:
            self._index.remove_ids(selector)

    def candidates(self, queries: np.ndarray, k: int) -> np.ndarray:
        with self._lock:
            _, labels = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), max(k, CANDIDATES))
        return np.asarray(labels, dtype=np.int64)
