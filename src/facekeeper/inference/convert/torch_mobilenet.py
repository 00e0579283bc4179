"""torchvision's MobileNetV2 `features` plus a Linear/ReLU/Linear/LogSoftmax head, from a state_dict, as ONNX.

The state_dict holds weights but not the architecture, so the architecture is written here: torchvision's
MobileNetV2 (Sandler et al. 2018), whose strides are fixed by its published configuration; channel counts
are read from the weights. Convolutions pad (k - 1) // 2 on every side and BatchNorm uses torch's epsilon.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx

from facekeeper.inference.convert.graph import GraphBuilder
from facekeeper.inference.convert.keras_h5 import ConversionError

VERSION = "torch-mobilenet-v2/1"
OUTPUT_NAME = "probabilities"
INPUT_NAME = "input"
BATCH_NORM_EPSILON = 1e-5
# torchvision's inverted residual settings (expansion, channels, repeats, first stride) give these strides for
# features.1 .. features.17.
BLOCK_STRIDES = (1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1)


def convert_mobilenet_v2_classifier(
    state: Mapping[str, np.ndarray], input_size: int, features: str = "bottom", head: str = "top"
) -> onnx.ModelProto:
    """`features.N...` under `features`, `head.0` and `head.2` Linear layers; softmax probabilities out."""
    return _Converter(state, features).run(input_size, head)


class _Converter:
    def __init__(self, state: Mapping[str, np.ndarray], prefix: str) -> None:
        self.state = state
        self.prefix = prefix
        self.graph = GraphBuilder("torch-mobilenet-v2")

    def weight(self, name: str) -> np.ndarray:
        try:
            return np.asarray(self.state[f"{self.prefix}.{name}"], dtype=np.float32)
        except KeyError as error:
            raise ConversionError(f"state_dict has no {self.prefix}.{name}: not a torchvision MobileNetV2") from error

    def conv_bn(self, x: str, conv: str, bn: str, stride: int, relu6: bool) -> str:
        kernel = self.weight(f"{conv}.weight")
        out_channels, in_per_group, height, _ = kernel.shape
        groups = 1 if in_per_group > 1 or out_channels == 1 else out_channels
        pad = (height - 1) // 2
        y = self.graph.conv(x, kernel, None, strides=(stride, stride), pads=(pad, pad, pad, pad), group=groups)
        y = self.graph.batch_norm(
            y,
            self.weight(f"{bn}.weight"),
            self.weight(f"{bn}.bias"),
            self.weight(f"{bn}.running_mean"),
            self.weight(f"{bn}.running_var"),
            BATCH_NORM_EPSILON,
        )
        return self.graph.clip(y, 0.0, 6.0) if relu6 else y

    def inverted_residual(self, x: str, index: int, stride: int) -> str:
        block = f"{index}.conv"
        expands = f"{self.prefix}.{block}.0.0.weight" in self.state and f"{self.prefix}.{block}.3.weight" in self.state
        if expands:  # 1x1 expand, 3x3 depthwise, 1x1 project
            y = self.conv_bn(x, f"{block}.0.0", f"{block}.0.1", 1, relu6=True)
            y = self.conv_bn(y, f"{block}.1.0", f"{block}.1.1", stride, relu6=True)
            y = self.conv_bn(y, f"{block}.2", f"{block}.3", 1, relu6=False)
            first, last = f"{block}.0.0.weight", f"{block}.2.weight"
        else:  # expansion 1: 3x3 depthwise, 1x1 project
            y = self.conv_bn(x, f"{block}.0.0", f"{block}.0.1", stride, relu6=True)
            y = self.conv_bn(y, f"{block}.1", f"{block}.2", 1, relu6=False)
            first, last = f"{block}.0.0.weight", f"{block}.1.weight"
        in_channels = self.weight(first).shape[1] if expands else self.weight(first).shape[0]
        out_channels = self.weight(last).shape[0]
        if stride == 1 and in_channels == out_channels:
            return self.graph.node("Add", [x, y], "residual")
        return y

    def run(self, input_size: int, head: str) -> onnx.ModelProto:
        x = self.graph.input(INPUT_NAME, ["N", 3, input_size, input_size])
        x = self.conv_bn(x, "0.0", "0.1", 2, relu6=True)
        for index, stride in enumerate(BLOCK_STRIDES, start=1):
            x = self.inverted_residual(x, index, stride)
        x = self.conv_bn(x, "18.0", "18.1", 1, relu6=True)
        x = self.graph.node("Flatten", [x], "flatten", axis=1)  # torch's x.view(N, -1) on NCHW
        for layer, activation in ((f"{head}.0", "Relu"), (f"{head}.2", "Softmax")):
            kernel = np.asarray(self.state[f"{layer}.weight"], dtype=np.float32).T
            x = self.graph.dense(x, kernel, np.asarray(self.state[f"{layer}.bias"], dtype=np.float32))
            # exp(LogSoftmax) = Softmax: the head's log-probabilities become probabilities.
            x = self.graph.node(
                activation, [x], activation.lower(), **({"axis": -1} if activation == "Softmax" else {})
            )
        return self.graph.model(x, OUTPUT_NAME, ["N", "classes"])
