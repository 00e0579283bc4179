"""The torch MobileNetV2 converter reproduces a numpy forward pass of the same state_dict."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from facekeeper.inference.convert.keras_h5 import ConversionError
from facekeeper.inference.convert.safe_pickle import load_torch_state_dict
from facekeeper.inference.convert.torch_mobilenet import BLOCK_STRIDES, convert_mobilenet_v2_classifier
from facekeeper.inference.model_files import package_directory

from .reference import torch_mobilenet_forward


def tiny_state(rng: np.random.Generator, width: int = 4, classes_in: int = 6) -> dict[str, np.ndarray]:
    """A MobileNetV2 with every torchvision key but a few channels per layer, random weights."""
    state: dict[str, np.ndarray] = {}

    def conv(name: str, out: int, per_group: int, k: int) -> None:
        state[f"bottom.{name}.weight"] = rng.normal(0, 0.4, (out, per_group, k, k)).astype(np.float32)

    def bn(name: str, channels: int) -> None:
        state[f"bottom.{name}.weight"] = rng.uniform(0.5, 1.5, channels).astype(np.float32)
        state[f"bottom.{name}.bias"] = rng.normal(0, 0.1, channels).astype(np.float32)
        state[f"bottom.{name}.running_mean"] = rng.normal(0, 0.1, channels).astype(np.float32)
        state[f"bottom.{name}.running_var"] = rng.uniform(0.5, 1.5, channels).astype(np.float32)
        state[f"bottom.{name}.num_batches_tracked"] = np.array(3, dtype=np.int64)

    conv("0.0", width, 3, 3)
    bn("0.1", width)
    channels = width
    for index, stride in enumerate(BLOCK_STRIDES, start=1):
        out = channels if stride == 1 and index % 3 else channels + 1
        if index == 1:  # expansion 1: depthwise then project
            conv(f"{index}.conv.0.0", channels, 1, 3)
            bn(f"{index}.conv.0.1", channels)
            conv(f"{index}.conv.1", out, channels, 1)
            bn(f"{index}.conv.2", out)
        else:
            hidden = channels * 2
            conv(f"{index}.conv.0.0", hidden, channels, 1)
            bn(f"{index}.conv.0.1", hidden)
            conv(f"{index}.conv.1.0", hidden, 1, 3)
            bn(f"{index}.conv.1.1", hidden)
            conv(f"{index}.conv.2", out, hidden, 1)
            bn(f"{index}.conv.3", out)
        channels = out
    conv("18.0", classes_in, channels, 1)
    bn("18.1", classes_in)
    state["top.0.weight"] = rng.normal(0, 0.3, (5, classes_in)).astype(np.float32)  # 32 px in: 1x1 spatial
    state["top.0.bias"] = rng.normal(0, 0.1, 5).astype(np.float32)
    state["top.2.weight"] = rng.normal(0, 0.3, (2, 5)).astype(np.float32)
    state["top.2.bias"] = rng.normal(0, 0.1, 2).astype(np.float32)
    return state


def run(state: dict[str, np.ndarray], x: np.ndarray, size: int) -> np.ndarray:
    model = convert_mobilenet_v2_classifier(state, size)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_tiny_mobilenet_matches_numpy_reference() -> None:
    rng = np.random.default_rng(11)
    state = tiny_state(rng)
    x = rng.uniform(-1, 1, (3, 3, 32, 32)).astype(np.float32)
    expected = torch_mobilenet_forward(state, x, BLOCK_STRIDES)
    got = run(state, x, 32)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(expected[0], expected[1])


def test_a_state_dict_of_another_network_is_refused() -> None:
    with pytest.raises(ConversionError, match="MobileNetV2"):
        convert_mobilenet_v2_classifier({"fc.weight": np.zeros((2, 2), dtype=np.float32)}, 32)


@pytest.mark.models
def test_real_mask_recognition_matches_numpy_reference() -> None:
    directory = package_directory("mask_recognition")
    if directory is None:
        pytest.skip("mask-recognition==0.0.1 is not installed")
    state = load_torch_state_dict(directory / "model/model.pth")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 128, 128)).astype(np.float32)
    np.testing.assert_allclose(
        run(state, x, 128), torch_mobilenet_forward(state, x, BLOCK_STRIDES), rtol=1e-3, atol=1e-4
    )
