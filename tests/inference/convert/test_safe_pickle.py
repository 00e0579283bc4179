"""The restricted readers build tensors and ordered dicts, and refuse anything that could run code."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from facekeeper.inference.convert.safe_pickle import UnsafePickleError, load_numpy_pickle, load_torch_state_dict


class _Storage:
    """Pickled by persistent id, as torch pickles its storages."""

    def __init__(self, key: str, kind: type) -> None:
        self.key, self.kind = key, kind


@contextmanager
def fake_torch() -> Iterator[types.ModuleType]:
    """Stand-ins named like torch's, so the pickle written here names the same globals torch.save writes."""
    if "torch" in sys.modules:
        pytest.skip("torch is imported; the stand-in module would shadow it")
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: object) -> None: ...

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch", "__qualname__": name}))
    torch._utils = utils  # type: ignore[attr-defined]
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        yield torch
    finally:
        del sys.modules["torch"], sys.modules["torch._utils"]


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.args: tuple[object, ...] = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: object) -> object:
        if isinstance(obj, _Storage):
            return ("storage", obj.kind, obj.key, "cpu", 0)
        return None


def write_archive(path: Path, state: OrderedDict, storages: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)


def test_tensors_come_back_with_their_shape_offset_and_strides(tmp_path: Path) -> None:
    flat = np.arange(24, dtype=np.float32)
    with fake_torch() as torch:
        floats, longs = _Storage("0", torch.FloatStorage), _Storage("1", torch.LongStorage)
        state = OrderedDict(
            [
                ("weight", _Tensor(floats, 0, (2, 3, 4), (12, 4, 1))),
                ("transposed", _Tensor(floats, 0, (4, 6), (1, 4))),  # a non-contiguous view
                ("tail", _Tensor(floats, 20, (4,), (1,))),
                ("count", _Tensor(longs, 0, (), ())),
            ]
        )
        write_archive(tmp_path / "model.pth", state, {"0": flat.tobytes(), "1": np.int64(7).tobytes()})
    loaded = load_torch_state_dict(tmp_path / "model.pth")
    np.testing.assert_array_equal(loaded["weight"], flat.reshape(2, 3, 4))
    np.testing.assert_array_equal(loaded["transposed"], flat.reshape(6, 4).T)
    np.testing.assert_array_equal(loaded["tail"], [20, 21, 22, 23])
    assert loaded["count"].dtype == np.int64 and int(loaded["count"]) == 7


class _Exploit:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned",))


def test_a_pickle_naming_other_callables_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "evil.pth", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(OrderedDict([("x", _Exploit())]), protocol=2))
    with pytest.raises(UnsafePickleError, match="system"):
        load_torch_state_dict(tmp_path / "evil.pth")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"mean": _Exploit()}))
    with pytest.raises(UnsafePickleError):
        load_numpy_pickle(tmp_path / "evil.pkl")


def test_numpy_pickles_give_plain_arrays_but_never_object_arrays(tmp_path: Path) -> None:
    values = {"mean": np.arange(5, dtype=np.float32), "std": np.ones((2, 3))}
    (tmp_path / "params.pkl").write_bytes(pickle.dumps(values, protocol=3))
    loaded = load_numpy_pickle(tmp_path / "params.pkl")
    np.testing.assert_array_equal(loaded["mean"], values["mean"])
    assert loaded["std"].shape == (2, 3)
    (tmp_path / "objects.pkl").write_bytes(pickle.dumps(np.array([1, "a"], dtype=object), protocol=3))
    with pytest.raises(UnsafePickleError):
        load_numpy_pickle(tmp_path / "objects.pkl")


def test_a_zip_without_a_pickle_is_not_a_state_dict(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsafePickleError):
        load_torch_state_dict(tmp_path / "other.zip")
