"""Big arrays come from a populated mapping and behave like numpy's own."""

from __future__ import annotations

import gc

import numpy as np

from facekeeper.index import buffers


def test_big_arrays_are_ordinary_writable_arrays() -> None:
    rows = buffers.POPULATE_FROM_BYTES // (16 * 4) + 1
    matrix = buffers.empty((rows, 16), np.float32)
    assert matrix.shape == (rows, 16) and matrix.dtype == np.float32 and matrix.flags.writeable
    assert matrix.flags.c_contiguous and matrix.base is not None  # backed by the mapping
    matrix[-1] = 2.0
    assert float(matrix[-1].sum()) == 32.0
    del matrix
    gc.collect()  # the mapping goes with its last array


def test_small_arrays_use_numpy() -> None:
    codes = buffers.empty((10,), np.int32)
    assert codes.shape == (10,) and codes.dtype == np.int32 and codes.flags.owndata
