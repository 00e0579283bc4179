"""The loading fixes, on a tiny in-memory model shaped like OpenCV Zoo's block-quantised files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.session import OnnxSession, dequantize


def block_quantised_model(path: Path) -> np.ndarray:
    """x (1x4) @ W (4x3) where W is int8 with one scale per block of 2 rows, plus a stale graph input."""
    quantised = np.arange(-6, 6, dtype=np.int8).reshape(4, 3)
    scales = np.array([[0.5, 0.25, 1.0], [2.0, 1.0, 0.1]], dtype=np.float32)
    weight = quantised.astype(np.float32) * np.repeat(scales, 2, axis=0)
    nodes = [
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w_flat"], axis=0, block_size=2),
        helper.make_node("Reshape", ["w_flat", "w_shape"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    initialisers = [
        numpy_helper.from_array(quantised, "w_q"),
        numpy_helper.from_array(scales, "w_scale"),
        numpy_helper.from_array(np.zeros((2, 3), dtype=np.int8), "w_zero"),
        numpy_helper.from_array(np.array([4, 3], dtype=np.int64), "w_shape"),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
        helper.make_tensor_value_info("old_weight_name", TensorProto.FLOAT, [4, 3]),
        helper.make_tensor_value_info("w_q", TensorProto.INT8, [4, 3]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])]
    graph = helper.make_graph(nodes, "bq", inputs, outputs, initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.save(model, str(path))
    return weight


def test_stale_inputs_are_dropped_and_weights_folded(tmp_path: Path) -> None:
    weight = block_quantised_model(tmp_path / "bq.onnx")
    session = OnnxSession(tmp_path / "bq.onnx", threads=1)
    assert session.input_names == ["x"]
    x = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    np.testing.assert_allclose(session.run({"x": x})[0], x @ weight, rtol=1e-6)


def test_free_axes_allow_any_batch(tmp_path: Path) -> None:
    weight = block_quantised_model(tmp_path / "bq.onnx")
    session = OnnxSession(tmp_path / "bq.onnx", free_axes={"x": (0,)})
    x = np.ones((5, 4), dtype=np.float32)
    np.testing.assert_allclose(session.run({"x": x})[0], x @ weight, rtol=1e-6)


def test_per_axis_and_per_tensor_dequantisation() -> None:
    values = np.array([[1, 2], [3, 4]], dtype=np.int8)
    per_axis = dequantize([values, np.array([1.0, 10.0], dtype=np.float32)], axis=1, block_size=0)
    np.testing.assert_allclose(per_axis, [[1, 20], [3, 40]])
    per_tensor = dequantize([values, np.array(0.5, dtype=np.float32), np.array(1, dtype=np.int8)], 1, 0)
    np.testing.assert_allclose(per_tensor, [[0, 0.5], [1, 1.5]])


def test_unreadable_model_file_is_model_unavailable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(FacekeeperError) as caught:
        OnnxSession(broken)
    assert caught.value.error is Error.MODEL_UNAVAILABLE
