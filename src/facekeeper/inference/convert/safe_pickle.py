"""Restricted readers for pickled weights: torch zip archives and numpy-array pickles.

A pickle can name any Python callable and run it. These unpicklers resolve only an allow-list of names
(ordered dicts, torch's tensor rebuild functions and storage types, numpy's array reconstruction) to
harmless local functions, so a hostile file fails with `UnsafePickleError` instead of running code.
Tensors come back as numpy arrays; torch is never imported.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

_TORCH_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names something outside the allow-list."""


class _StorageType:
    """Stands for `torch.FloatStorage` etc. inside the pickle: only its numpy dtype is kept."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(
    storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2 with numpy: a strided view of the flat storage, copied."""
    if not size:
        return np.array(storage[offset])
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * item for s in stride), writeable=False
    )
    return np.array(view)


def _rebuild_parameter(data: np.ndarray, *_: Any) -> np.ndarray:
    return data


def _ordered_dict(*args: Any) -> collections.OrderedDict[Any, Any]:
    return collections.OrderedDict(*args)


class _RestrictedUnpickler(pickle.Unpickler):
    allowed: ClassVar[Mapping[tuple[str, str], Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(f"refused to load {module}.{name} from a weight file")
        return found


class _TorchUnpickler(_RestrictedUnpickler):
    allowed: ClassVar[Mapping[tuple[str, str], Any]] = {
        ("collections", "OrderedDict"): _ordered_dict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        **{("torch", name): _StorageType(dtype) for name, dtype in _TORCH_STORAGE_DTYPES.items()},
    }

    def __init__(self, data: bytes, read_storage: Callable[[str, np.dtype[Any]], np.ndarray]) -> None:
        super().__init__(io.BytesIO(data))
        self.read_storage = read_storage

    def persistent_load(self, pid: Any) -> np.ndarray:
        # ('storage', storage type, key, location, element count): the bytes live in the archive at data/<key>.
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise UnsafePickleError(f"unexpected persistent id {pid!r}")
        storage_type = pid[1]
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError(f"unexpected storage type {storage_type!r}")
        return self.read_storage(str(pid[2]), storage_type.dtype)


def load_torch_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A `torch.save(state_dict)` zip archive as {name: numpy array}; anything but tensors is refused."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if len(pickles) != 1:
            raise UnsafePickleError(f"{path.name} is not a torch zip archive")
        prefix = pickles[0][: -len("data.pkl")]
        storages: dict[str, np.ndarray] = {}

        def read_storage(key: str, dtype: np.dtype[Any]) -> np.ndarray:
            if key not in storages:
                storages[key] = np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=dtype.newbyteorder("<"))
            return storages[key]

        loaded = _TorchUnpickler(archive.read(pickles[0]), read_storage).load()
    if not isinstance(loaded, dict) or not all(isinstance(v, np.ndarray) for v in loaded.values()):
        raise UnsafePickleError(f"{path.name} holds something other than a state_dict of tensors")
    return {str(key): value for key, value in loaded.items()}


def _reconstruct(cls: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise UnsafePickleError("only plain numpy arrays may be reconstructed")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


def _dtype(code: str, align: bool = False, copy: bool = True) -> np.dtype[Any]:
    dtype = np.dtype(code)
    if dtype.hasobject:
        raise UnsafePickleError("object arrays are refused")
    return dtype


class _NumpyUnpickler(_RestrictedUnpickler):
    allowed: ClassVar[Mapping[tuple[str, str], Any]] = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _dtype,
    }


def load_numpy_pickle(path: Path) -> Any:
    """A pickle of plain containers and numeric numpy arrays (e.g. 3DDFA's parameter mean and std)."""
    return _NumpyUnpickler(io.BytesIO(path.read_bytes())).load()
