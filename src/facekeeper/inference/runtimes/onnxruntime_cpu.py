"""onnxruntime on the CPU: always installed, the fallback of every choice.

No telemetry: onnxruntime 1.32's Linux wheel carries Microsoft's 1DS event SDK and, when imported, writes a
device id and an offline event store under ~/.cache/Microsoft/DeveloperTools/.onnxruntime unless
`ORT_DISABLE_TELEMETRY=1` is set before the import (measured: nothing is written with it). So onnxruntime is
imported only through `onnxruntime()` below, which sets it first unless the operator chose otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np


def onnxruntime() -> Any:
    """The onnxruntime module, imported with its telemetry off."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    return ort


class OnnxRuntimeSession:
    """One InferenceSession; onnxruntime lets several threads run one session at once."""

    runtime = "onnxruntime"
    precision = "f32"

    def __init__(self, model: bytes, threads: int) -> None:
        ort = onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # Two inference workers run concurrently; more inter-op threads would only oversubscribe the cores.
        options.inter_op_num_threads = 1
        # Spinning threads burn the core the other worker (or OpenCV) needs: measured 2.3-4.4x slower.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        self.version: str = ort.__version__
        self.input_names: list[str] = [node.name for node in self._session.get_inputs()]
        self.output_names: list[str] = [node.name for node in self._session.get_outputs()]

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return list(self._session.run(self.output_names, dict(inputs)))


class OnnxRuntimeCpu:
    name = "onnxruntime"

    def version(self) -> str:
        return str(onnxruntime().__version__)

    def precisions(self) -> list[str]:
        # fp16/bf16 kernels of the CPU provider cover few operators: f32 is what it runs.
        return ["f32"]

    def open(self, model: bytes, precision: str, threads: int, callers: int) -> OnnxRuntimeSession:
        """`callers` does not matter: one session serves concurrent runs in their own threads."""
        if precision != "f32":
            raise ValueError(f"onnxruntime runs f32 here, not {precision}")
        return OnnxRuntimeSession(model, threads)
