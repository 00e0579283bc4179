"""Plain-numpy forward passes, independent of the converters, to check the converted ONNX graphs against.

Convolutions are written as explicit sums over kernel offsets in NHWC; nothing here shares code with
`facekeeper.inference.convert`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np


def conv_nhwc(
    x: np.ndarray, kernel: np.ndarray, stride: int, pads: tuple[int, int, int, int], groups: int = 1
) -> np.ndarray:
    """x (N, H, W, C), kernel (kh, kw, C / groups, out); pads (top, bottom, left, right)."""
    top, bottom, left, right = pads
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    n, height, width, _ = x.shape
    kh, kw, per_group, out = kernel.shape
    out_h, out_w = (height - kh) // stride + 1, (width - kw) // stride + 1
    result = np.zeros((n, out_h, out_w, out), dtype=np.float64)
    out_per_group = out // groups
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :]
            for g in range(groups):
                inputs = patch[..., g * per_group : (g + 1) * per_group]
                weights = kernel[i, j, :, g * out_per_group : (g + 1) * out_per_group]
                result[..., g * out_per_group : (g + 1) * out_per_group] += inputs @ weights
    return result


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same': total padding split with the odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def keras_forward(h5_path: Path, x_nhwc: np.ndarray) -> np.ndarray:
    """Interpret a Keras functional model from its h5 file, layer by layer."""
    with h5py.File(h5_path, "r") as file:
        config = json.loads(file.attrs["model_config"])["config"]
        group = file["model_weights"]
        weights = {
            name: {
                (key.decode() if isinstance(key, bytes) else key).rsplit("/", 1)[-1].split(":")[0]: np.asarray(
                    group[name][key.decode() if isinstance(key, bytes) else key], dtype=np.float64
                )
                for key in group[name].attrs.get("weight_names", [])
            }
            for name in group
        }
    values: dict[str, np.ndarray] = {}
    for layer in config["layers"]:
        kind, cfg = layer["class_name"], layer["config"]
        inputs = [values[inbound[0]] for node in layer["inbound_nodes"] for inbound in node]
        w = weights.get(cfg["name"], {})
        if kind == "InputLayer":
            out = x_nhwc.astype(np.float64)
        elif kind == "ZeroPadding2D":
            (t, b), (left, r) = cfg["padding"]
            out = np.pad(inputs[0], ((0, 0), (t, b), (left, r), (0, 0)))
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            kernel = w["kernel"] if kind == "Conv2D" else w["depthwise_kernel"]
            kh, stride = kernel.shape[0], cfg["strides"][0]
            if kind == "DepthwiseConv2D":
                channels, multiplier = kernel.shape[2], kernel.shape[3]
                kernel = kernel.reshape(kh, kh, 1, channels * multiplier)
                groups = channels
            else:
                groups = 1
            if cfg["padding"] == "same":
                pads = same_pads(inputs[0].shape[1], kh, stride) + same_pads(inputs[0].shape[2], kh, stride)
            else:
                pads = (0, 0, 0, 0)
            out = conv_nhwc(inputs[0], kernel, stride, pads, groups)
            if "bias" in w:
                out = out + w["bias"]
            out = activation(out, cfg.get("activation", "linear"))
        elif kind == "BatchNormalization":
            out = (inputs[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * w["gamma"] + w[
                "beta"
            ]
        elif kind == "ReLU":
            out = np.clip(inputs[0], 0, cfg.get("max_value") if cfg.get("max_value") is not None else np.inf)
        elif kind == "Add":
            out = sum(inputs[1:], inputs[0])
        elif kind == "AveragePooling2D":
            size = cfg["pool_size"][0]
            n, h, width, c = inputs[0].shape
            out = inputs[0][:, : h // size * size, : width // size * size].reshape(
                n, h // size, size, width // size, size, c
            )
            out = out.mean(axis=(2, 4))
        elif kind == "Flatten":
            out = inputs[0].reshape(len(inputs[0]), -1)
        elif kind == "Dense":
            out = activation(inputs[0] @ w["kernel"] + w.get("bias", 0.0), cfg["activation"])
        elif kind == "Dropout":
            out = inputs[0]
        else:
            raise AssertionError(f"reference does not know {kind}")
        values[cfg["name"]] = out
    return values[config["output_layers"][0][0]]


def activation(x: np.ndarray, name: str) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise AssertionError(name)


def torch_mobilenet_forward(state: dict[str, np.ndarray], x_nchw: np.ndarray, strides: tuple[int, ...]) -> np.ndarray:
    """torchvision MobileNetV2 features under `bottom.`, then top.0 / ReLU / top.2 / softmax."""

    def conv_bn(x: np.ndarray, conv: str, bn: str, stride: int, relu6: bool) -> np.ndarray:
        weight = state[f"bottom.{conv}.weight"].astype(np.float64)  # (out, in / groups, k, k)
        _, per_group, k, _ = weight.shape
        groups = x.shape[-1] // per_group
        pad = (k - 1) // 2
        y = conv_nhwc(x, weight.transpose(2, 3, 1, 0), stride, (pad, pad, pad, pad), groups)
        scale = state[f"bottom.{bn}.weight"] / np.sqrt(state[f"bottom.{bn}.running_var"] + 1e-5)
        y = (y - state[f"bottom.{bn}.running_mean"]) * scale + state[f"bottom.{bn}.bias"]
        return np.clip(y, 0, 6) if relu6 else y

    x = x_nchw.transpose(0, 2, 3, 1).astype(np.float64)
    x = conv_bn(x, "0.0", "0.1", 2, True)
    for index, stride in enumerate(strides, start=1):
        block = f"{index}.conv"
        if f"bottom.{block}.3.weight" in state:
            y = conv_bn(x, f"{block}.0.0", f"{block}.0.1", 1, True)
            y = conv_bn(y, f"{block}.1.0", f"{block}.1.1", stride, True)
            y = conv_bn(y, f"{block}.2", f"{block}.3", 1, False)
        else:
            y = conv_bn(x, f"{block}.0.0", f"{block}.0.1", stride, True)
            y = conv_bn(y, f"{block}.1", f"{block}.2", 1, False)
        x = x + y if stride == 1 and x.shape == y.shape else y
    x = conv_bn(x, "18.0", "18.1", 1, True)
    flat = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    hidden = np.maximum(flat @ state["top.0.weight"].T + state["top.0.bias"], 0)
    return activation(hidden @ state["top.2.weight"].T + state["top.2.bias"], "softmax")


def tiny_keras_config(size: int = 12) -> dict[str, Any]:
    """A small functional model using every layer kind the converter supports (MobileNetV2-shaped)."""

    def layer(kind: str, name: str, inbound: list[str], **config: Any) -> dict[str, Any]:
        return {
            "class_name": kind,
            "config": {"name": name, **config},
            "inbound_nodes": [[[source, 0, 0, {}] for source in inbound]] if inbound else [],
        }

    return {
        "class_name": "Model",
        "config": {
            "layers": [
                layer("InputLayer", "input_1", [], batch_input_shape=[None, size, size, 3]),
                layer("ZeroPadding2D", "pad", ["input_1"], padding=[[0, 1], [0, 1]]),
                layer(
                    "Conv2D",
                    "conv",
                    ["pad"],
                    kernel_size=[3, 3],
                    strides=[2, 2],
                    padding="valid",
                    activation="linear",
                    use_bias=False,
                ),
                layer("BatchNormalization", "bn", ["conv"], epsilon=0.001),
                layer("ReLU", "relu6", ["bn"], max_value=6.0),
                layer(
                    "DepthwiseConv2D",
                    "dw",
                    ["relu6"],
                    kernel_size=[3, 3],
                    strides=[1, 1],
                    padding="same",
                    activation="linear",
                    use_bias=False,
                ),
                layer("BatchNormalization", "dw_bn", ["dw"], epsilon=0.001),
                layer("ReLU", "dw_relu", ["dw_bn"], max_value=None),
                layer(
                    "Conv2D",
                    "project",
                    ["dw_relu"],
                    kernel_size=[1, 1],
                    strides=[1, 1],
                    padding="same",
                    activation="linear",
                    use_bias=True,
                ),
                layer("Add", "add", ["relu6", "project"]),
                layer(
                    "DepthwiseConv2D",
                    "dw2",
                    ["add"],
                    kernel_size=[3, 3],
                    strides=[2, 2],
                    padding="same",
                    activation="relu",
                    use_bias=True,
                ),
                layer("AveragePooling2D", "pool", ["dw2"], pool_size=[3, 3], strides=[3, 3], padding="valid"),
                layer("Flatten", "flatten", ["pool"]),
                layer("Dense", "dense", ["flatten"], units=5, activation="relu", use_bias=True),
                layer("Dropout", "dropout", ["dense"], rate=0.5),
                layer("Dense", "dense_1", ["dropout"], units=2, activation="softmax", use_bias=True),
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense_1", 0, 0]],
        },
    }


def write_tiny_keras_h5(path: Path, rng: np.random.Generator, channels: int = 4) -> None:
    """The tiny model with random weights, saved the way Keras 2 saves h5 models."""
    shapes: dict[str, dict[str, tuple[int, ...]]] = {
        "conv": {"kernel": (3, 3, 3, channels)},
        "bn": {n: (channels,) for n in ("gamma", "beta", "moving_mean", "moving_variance")},
        "dw": {"depthwise_kernel": (3, 3, channels, 1)},
        "dw_bn": {n: (channels,) for n in ("gamma", "beta", "moving_mean", "moving_variance")},
        "project": {"kernel": (1, 1, channels, channels), "bias": (channels,)},
        "dw2": {"depthwise_kernel": (3, 3, channels, 1), "bias": (channels,)},
        "dense": {"kernel": (channels * 1 * 1, 5), "bias": (5,)},
        "dense_1": {"kernel": (5, 2), "bias": (2,)},
    }
    config = tiny_keras_config()
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = json.dumps(config)
        file.attrs["keras_version"] = "2.2.4-tf"
        group = file.create_group("model_weights")
        for layer in config["config"]["layers"]:
            name = layer["config"]["name"]
            layer_group = group.create_group(name)
            names = []
            for weight, shape in shapes.get(name, {}).items():
                value = rng.uniform(0.5, 1.5, shape) if weight == "moving_variance" else rng.normal(0, 0.5, shape)
                layer_group.create_dataset(f"{name}/{weight}:0", data=value.astype(np.float32))
                names.append(f"{name}/{weight}:0".encode())
            layer_group.attrs["weight_names"] = np.array(names, dtype="S")
