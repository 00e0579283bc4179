"""Keras (TensorFlow 2.x) functional models saved as h5 -> ONNX, reading the file with h5py only.

Supported layers are those of Keras' MobileNetV2 with a small classification head: InputLayer,
ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU (with max_value), Activation, Add,
AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense, Dropout. Anything else is refused with its name.
The ONNX graph takes NCHW float input (Keras ran NHWC): Flatten transposes back first, so a Dense layer
after it sees the features in Keras' order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import onnx

from facekeeper.inference.convert.graph import GraphBuilder

VERSION = "keras-h5/2"
OUTPUT_NAME = "probabilities"
INPUT_NAME = "input"


class ConversionError(ValueError):
    """The file is not a model this converter understands."""


def convert_keras_h5(path: Path, any_input_size: bool = False) -> onnx.ModelProto:
    """The model as ONNX; with `any_input_size`, for inputs of any height and width (see `with_global_pooling`)."""
    with h5py.File(path, "r") as file:
        config = json.loads(_text(file.attrs["model_config"]))
        weights_group = file.get("model_weights", file)
        weights = {name: _layer_weights(weights_group, name) for name in weights_group}
    if config.get("class_name") not in ("Model", "Functional"):
        raise ConversionError(f"only functional models are supported, not {config.get('class_name')}")
    model = _Converter(weights).run(config["config"])
    return with_global_pooling(model) if any_input_size else model


def with_global_pooling(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the image size vary: an average pool spanning its whole input map becomes a global average pool.

    MobileNetV2 heads pool the last 7x7 map of a 224 px input with a 7x7 window, which is the global
    average at that size and stays the global average at any other; the input's height and width become
    free. Refused if anything else pins the spatial size (a Flatten after a pool that is not global).
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {
        info.name: [dim.dim_value for dim in info.type.tensor_type.shape.dim]
        for info in [*inferred.graph.value_info, *inferred.graph.input]
    }
    for node in model.graph.node:
        if node.op_type != "AveragePool":
            continue
        kernel = next(list(attr.ints) for attr in node.attribute if attr.name == "kernel_shape")
        if shapes.get(node.input[0], [])[2:] != kernel:
            raise ConversionError(f"{node.name} does not pool its whole input: the input size is fixed")
        node.op_type = "GlobalAveragePool"
        del node.attribute[:]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis, name in ((2, "height"), (3, "width")):
        dims[axis].Clear()
        dims[axis].dim_param = name
    onnx.checker.check_model(model)
    return model


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _layer_weights(group: h5py.Group, layer: str) -> dict[str, np.ndarray]:
    """{'kernel': ..., 'bias': ...} by the short names Keras gives them (`Conv1/kernel:0` -> `kernel`)."""
    names = [_text(name) for name in group[layer].attrs.get("weight_names", [])]
    return {name.rsplit("/", 1)[-1].split(":")[0]: np.asarray(group[layer][name]) for name in names}


class _Converter:
    def __init__(self, weights: dict[str, dict[str, np.ndarray]]) -> None:
        self.weights = weights
        self.graph = GraphBuilder("keras")
        self.tensors: dict[str, str] = {}  # Keras layer name -> ONNX tensor holding its output
        self.handlers: dict[str, Callable[[dict[str, Any], list[str]], str]] = {
            "ZeroPadding2D": self._zero_padding,
            "Conv2D": self._conv,
            "DepthwiseConv2D": self._depthwise,
            "BatchNormalization": self._batch_norm,
            "ReLU": self._relu,
            "Activation": lambda layer, inputs: self._activation(inputs[0], layer["config"]["activation"]),
            "Add": lambda layer, inputs: self.graph.node("Add", inputs, "add"),
            "AveragePooling2D": self._average_pool,
            "GlobalAveragePooling2D": lambda layer, inputs: self.graph.node(
                "Flatten", [self.graph.node("GlobalAveragePool", inputs, "gap")], "flatten"
            ),
            "Flatten": self._flatten,
            "Dense": self._dense,
            "Dropout": lambda layer, inputs: inputs[0],  # inference: identity
        }

    def run(self, config: dict[str, Any]) -> onnx.ModelProto:
        for layer in config["layers"]:
            kind, name = layer["class_name"], layer["config"]["name"]
            inputs = [self.tensors[inbound[0]] for node in layer.get("inbound_nodes", []) for inbound in node]
            if kind == "InputLayer":
                _, height, width, channels = layer["config"]["batch_input_shape"]
                self.tensors[name] = self.graph.input(INPUT_NAME, ["N", channels, height, width])
                continue
            handler = self.handlers.get(kind)
            if handler is None:
                raise ConversionError(f"unsupported Keras layer {kind} ({name})")
            self.layer_name = name
            try:
                self.tensors[name] = handler(layer, inputs)
            except KeyError as error:
                raise ConversionError(f"layer {name} ({kind}) lacks {error} in the file") from error
        (output_layer, _, _), *rest = config["output_layers"]
        if rest:
            raise ConversionError("only single-output models are supported")
        return self.graph.model(self.tensors[output_layer], OUTPUT_NAME, ["N", "classes"])

    def _own(self) -> dict[str, np.ndarray]:
        return self.weights.get(self.layer_name, {})

    def _activation(self, x: str, activation: str) -> str:
        if activation == "linear":
            return x
        if activation == "relu":
            return self.graph.node("Relu", [x], "relu")
        if activation == "relu6":
            return self.graph.clip(x, 0.0, 6.0)
        if activation == "softmax":
            return self.graph.node("Softmax", [x], "softmax", axis=-1)
        if activation == "sigmoid":
            return self.graph.node("Sigmoid", [x], "sigmoid")
        raise ConversionError(f"unsupported activation {activation} ({self.layer_name})")

    def _zero_padding(self, layer: dict[str, Any], inputs: list[str]) -> str:
        (top, bottom), (left, right) = _pairs(layer["config"]["padding"])
        pads = self.graph.constant("pads", np.array([0, 0, top, left, 0, 0, bottom, right], dtype=np.int64))
        return self.graph.node("Pad", [inputs[0], pads], "pad", mode="constant")

    def _conv_padding(self, config: dict[str, Any]) -> dict[str, Any]:
        if config["padding"] == "valid":
            return {"pads": (0, 0, 0, 0)}
        if config["padding"] == "same":
            return {"auto_pad": "SAME_UPPER"}  # TensorFlow puts the odd padding pixel at the end, as SAME_UPPER
        raise ConversionError(f"unsupported padding {config['padding']} ({self.layer_name})")

    def _conv(self, layer: dict[str, Any], inputs: list[str]) -> str:
        config, weights = layer["config"], self._own()
        _check_dilation(config, self.layer_name)
        kernel = weights["kernel"].transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        bias = weights.get("bias") if config.get("use_bias", True) else None
        padding = self._conv_padding(config)
        x = self.graph.conv(inputs[0], kernel, bias, strides=config["strides"], hint="conv", **padding)
        return self._activation(x, config.get("activation", "linear"))

    def _depthwise(self, layer: dict[str, Any], inputs: list[str]) -> str:
        config, weights = layer["config"], self._own()
        _check_dilation(config, self.layer_name)
        kernel = weights["depthwise_kernel"]  # (kh, kw, in, multiplier)
        height, width, channels, multiplier = kernel.shape
        onnx_kernel = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width)
        bias = weights.get("bias") if config.get("use_bias", True) else None
        padding = self._conv_padding(config)
        x = self.graph.conv(
            inputs[0], onnx_kernel, bias, strides=config["strides"], group=channels, hint="dwconv", **padding
        )
        return self._activation(x, config.get("activation", "linear"))

    def _batch_norm(self, layer: dict[str, Any], inputs: list[str]) -> str:
        weights = self._own()
        mean, variance = weights["moving_mean"], weights["moving_variance"]
        scale = weights.get("gamma", np.ones_like(mean))
        shift = weights.get("beta", np.zeros_like(mean))
        axis = layer["config"].get("axis", -1)
        if axis not in (-1, 3, [3], [-1]):
            raise ConversionError(f"BatchNormalization over axis {axis} ({self.layer_name})")
        return self.graph.batch_norm(inputs[0], scale, shift, mean, variance, layer["config"]["epsilon"])

    def _relu(self, layer: dict[str, Any], inputs: list[str]) -> str:
        config = layer["config"]
        if config.get("negative_slope", 0.0) or config.get("threshold", 0.0):
            raise ConversionError(f"leaky or thresholded ReLU ({self.layer_name})")
        max_value = config.get("max_value")
        if max_value is None:
            return self.graph.node("Relu", inputs, "relu")
        return self.graph.clip(inputs[0], 0.0, float(max_value))

    def _average_pool(self, layer: dict[str, Any], inputs: list[str]) -> str:
        config = layer["config"]
        if config["padding"] != "valid":
            raise ConversionError(f"AveragePooling2D padding {config['padding']} ({self.layer_name})")
        strides = config.get("strides") or config["pool_size"]
        return self.graph.node("AveragePool", inputs, "avgpool", kernel_shape=config["pool_size"], strides=strides)

    def _flatten(self, layer: dict[str, Any], inputs: list[str]) -> str:
        channels_last = self.graph.node("Transpose", inputs, "nhwc", perm=[0, 2, 3, 1])
        return self.graph.node("Flatten", [channels_last], "flatten", axis=1)

    def _dense(self, layer: dict[str, Any], inputs: list[str]) -> str:
        config, weights = layer["config"], self._own()
        bias = weights.get("bias") if config.get("use_bias", True) else None
        x = self.graph.dense(inputs[0], weights["kernel"], bias)
        return self._activation(x, config.get("activation", "linear"))


def _pairs(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' ZeroPadding2D padding: int, (rows, cols), or ((top, bottom), (left, right))."""
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    rows, cols = padding
    rows = (rows, rows) if isinstance(rows, int) else tuple(rows)
    cols = (cols, cols) if isinstance(cols, int) else tuple(cols)
    return (int(rows[0]), int(rows[1])), (int(cols[0]), int(cols[1]))


def _check_dilation(config: dict[str, Any], name: str) -> None:
    if any(rate != 1 for rate in config.get("dilation_rate", (1, 1))):
        raise ConversionError(f"dilated convolution ({name})")
