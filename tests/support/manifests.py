"""A tiny operator embedder (ONNX model + JSON manifest) for tests of FACEKEEPER_EMBEDDER_MANIFESTS."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper


def write_manifest(directory: Path, **changes: object) -> Path:
    """A tiny ONNX 'embedder': the per-channel mean of its (normalised) input, NCHW, 3-d output."""
    image = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, 56, 56])
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 3])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["pixels", "axes"], ["embedding"], keepdims=0)],
        "means",
        [image],
        [output],
        [axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(directory / "means.onnx"))
    manifest = {
        "name": "means",
        "file": "means.onnx",
        "input": {"size": 56, "layout": "NCHW", "color": "BGR", "mean": [10, 20, 30], "std": 2},
        "dimension": 3,
        "coefficients": {"c0": 0.9, "c1": 7.5},
    }
    manifest.update(changes)
    path = directory / "means.json"
    path.write_text(json.dumps(manifest))
    return path
