"""A small ONNX graph builder: the few operators the converted networks need, named and wired in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class GraphBuilder:
    """Appends nodes to one graph; every method returns the name of the tensor it produced."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, shape: Sequence[int | str]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        return name

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], hint: str, **attributes: Any) -> str:
        output = self.fresh(hint)
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, **attributes))
        return output

    def conv(
        self,
        x: str,
        weight: np.ndarray,
        bias: np.ndarray | None,
        *,
        strides: Sequence[int],
        pads: Sequence[int] | None = None,
        auto_pad: str | None = None,
        group: int = 1,
        hint: str = "conv",
    ) -> str:
        """`weight` is ONNX's (out, in / group, kh, kw); `pads` (top, left, bottom, right) or `auto_pad`."""
        inputs = [x, self.constant(f"{hint}_w", weight.astype(np.float32))]
        if bias is not None:
            inputs.append(self.constant(f"{hint}_b", bias.astype(np.float32)))
        attributes: dict[str, Any] = {
            "kernel_shape": list(weight.shape[2:]),
            "strides": list(strides),
            "group": group,
        }
        if auto_pad is not None:
            attributes["auto_pad"] = auto_pad
        else:
            attributes["pads"] = list(pads or (0, 0, 0, 0))
        return self.node("Conv", inputs, hint, **attributes)

    def batch_norm(
        self, x: str, scale: np.ndarray, shift: np.ndarray, mean: np.ndarray, variance: np.ndarray, epsilon: float
    ) -> str:
        tensors = [self.constant("bn", array.astype(np.float32)) for array in (scale, shift, mean, variance)]
        return self.node("BatchNormalization", [x, *tensors], "bn", epsilon=float(epsilon))

    def clip(self, x: str, low: float, high: float | None) -> str:
        bounds = [self.constant("clip_min", np.array(low, dtype=np.float32))]
        if high is not None:
            bounds.append(self.constant("clip_max", np.array(high, dtype=np.float32)))
        return self.node("Clip", [x, *bounds], "clip")

    def dense(self, x: str, kernel: np.ndarray, bias: np.ndarray | None) -> str:
        """y = x @ kernel + bias, `kernel` (in, out)."""
        inputs = [x, self.constant("dense_w", kernel.astype(np.float32))]
        if bias is not None:
            inputs.append(self.constant("dense_b", bias.astype(np.float32)))
        return self.node("Gemm", inputs, "dense")

    def model(self, output: str, output_name: str, output_shape: Sequence[int | str]) -> onnx.ModelProto:
        """The graph with `output` exposed under `output_name`, checked by onnx."""
        self.nodes.append(helper.make_node("Identity", [output], [output_name], name=output_name))
        outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(output_shape))]
        graph = helper.make_graph(self.nodes, self.name, self.inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facekeeper")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model
