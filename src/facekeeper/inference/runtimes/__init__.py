"""Inference runtimes behind one small protocol, so adding a runtime is adding one module.

Every ONNX model (detector, embedder, plugins, an operator's embedder) is prepared once by
`inference/session.py` and handed, as serialised ONNX, to a `Runtime`; `choice.py` picks the runtime and
precision each model runs on (`FACEKEEPER_RUNTIME`): a fixed one, or the fastest measured at load time.
onnxruntime is always there and is the fallback; OpenVINO is used only when its package is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from facekeeper.settings import Settings

RuntimeChoice = Literal["auto", "onnxruntime", "openvino"]
AUTO = "auto"
DECISIONS_FILE = "runtimes.json"


class RuntimeSession(Protocol):
    """A model ready to run on one runtime at one precision; `run` may be called from several threads."""

    input_names: list[str]
    runtime: str  # e.g. "onnxruntime"
    precision: str  # what the runtime really computes in, e.g. "f32" or "bf16"
    version: str  # the runtime's version

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs in the graph's declared order, as arrays the caller owns."""
        ...


class Runtime(Protocol):
    """One inference runtime on the CPU."""

    name: str  # the FACEKEEPER_RUNTIME value that selects it

    def version(self) -> str:
        """The installed version (part of what a remembered choice depends on)."""
        ...

    def precisions(self) -> list[str]:
        """Precisions this runtime computes natively on this CPU, f32 first; [] when not installed."""
        ...

    def open(self, model: bytes, precision: str, threads: int, callers: int) -> RuntimeSession:
        """Compile `model` (serialised ONNX) for `callers` threads calling at once, `threads` each."""
        ...


@dataclass(frozen=True)
class RuntimeOptions:
    """How sessions choose their runtime: `choice` (auto, onnxruntime, openvino), how many inference workers
    call a session at once (a runtime that serialises its callers must know it), and the file where `auto`
    remembers what it measured (None: measure at every load)."""

    choice: RuntimeChoice = "onnxruntime"
    callers: int = 1
    decisions: Path | None = None
    full_precision_only: bool = False  # `runtime_precision=f32`: never bf16 or f16

    @classmethod
    def of(cls, settings: Settings) -> RuntimeOptions:
        return cls(
            choice=settings.runtime,
            full_precision_only=settings.runtime_precision == "f32",
            callers=settings.inference_workers,
            decisions=settings.data_dir / "models" / DECISIONS_FILE,
        )


def describe(session: RuntimeSession) -> str:
    """What `status=true` and the logs show, e.g. "openvino 2026.4.1 f32"."""
    return f"{session.runtime} {session.version} {session.precision}"
