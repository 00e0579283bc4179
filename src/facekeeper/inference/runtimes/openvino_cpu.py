"""OpenVINO on the CPU (`openvino` from PyPI), reading the prepared ONNX graph directly.

No telemetry: the runtime itself sends nothing; OpenVINO's telemetry lives in its model conversion tools
(`ovc`, `convert_model`), which Facekeeper never calls, and `make` installs `openvino` without its
`openvino-telemetry` dependency, so even those fall back to OpenVINO's no-op stub. No model cache
(`CACHE_DIR`) is set, so compiling writes no file either (docs/models.md, tests/inference/test_runtimes.py).

OpenVINO's CPU plugin runs one inference per *stream* at a time: with one stream, two inference workers
calling the same compiled model take turns (measured: twice the time per round). So a model gets one
stream per inference worker, `threads` threads each, and each calling thread its own infer request.
Threads are not pinned to cores: several server processes share the machine's cores.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

DEVICE = "CPU"
# OpenVINO's capability names for the precisions it computes natively, and our names for them.
NATIVE_PRECISIONS = {"BF16": "bf16", "FP16": "f16"}


@functools.cache
def core() -> Any:
    """One OpenVINO Core per process, made on first use (never at import)."""
    import openvino

    return openvino.Core()


class OpenVinoSession:
    runtime = "openvino"

    def __init__(self, model: bytes, precision: str, threads: int, callers: int) -> None:
        import openvino

        ov_core = core()
        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": callers,
            "INFERENCE_NUM_THREADS": threads * callers,
            "ENABLE_CPU_PINNING": False,
        }
        self._compiled = ov_core.compile_model(ov_core.read_model(model), DEVICE, config)
        self.version: str = openvino.get_version().split("-")[0]
        # What it really computes in: a hint the CPU cannot honour falls back to f32.
        self.precision: str = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.input_names: list[str] = [port.get_any_name() for port in self._compiled.inputs]
        self._outputs = list(self._compiled.outputs)
        self._requests = threading.local()

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """An infer request is not thread-safe: each calling thread keeps its own."""
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        results = request.infer(dict(inputs))
        return [np.array(results[output], copy=True) for output in self._outputs]


class OpenVinoCpu:
    name = "openvino"

    def version(self) -> str:
        import openvino

        return str(openvino.get_version()).split("-")[0]

    def precisions(self) -> list[str]:
        if importlib.util.find_spec("openvino") is None:
            return []
        capabilities = core().get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")
        return ["f32", *(ours for theirs, ours in NATIVE_PRECISIONS.items() if theirs in capabilities)]

    def open(self, model: bytes, precision: str, threads: int, callers: int) -> OpenVinoSession:
        return OpenVinoSession(model, precision, threads, callers)
