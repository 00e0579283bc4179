"""Operator-supplied embedders: any ONNX network that takes an ArcFace-aligned face, described by a small
JSON manifest, enabled with FACEKEEPER_EMBEDDER_MANIFESTS (comma-separated manifest paths).

    {
      "name": "arcface-r50",                 # the embedder's registry name (FACEKEEPER_EMBEDDER, migrate)
      "file": "w600k_r50.onnx",              # relative to the manifest's folder, or absolute
      "version": "arcface.Calculator@r50",   # optional; default: name + the file's SHA-256 prefix
      "input": {"size": 112, "layout": "NCHW", "color": "RGB",
                "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5]},
      "dimension": 512,                      # optional when the graph's output shape says it
      "coefficients": {"c0": 1.1, "c1": 12.0}
    }

The face is cut on the ArcFace 5-point template scaled to `size`, then `(pixel - mean) / std` per channel
in the given colour order. Nothing is fitted for the operator: the coefficients are theirs (measure them
with benchmarks/calibrate.py --manifest). `<name>-flip` works for these too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from facekeeper.domain import SimilarityCoefficients
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.alignment import ARCFACE_TEMPLATE, CROP_SIZE
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.session import ModelSession, OnnxSession

if TYPE_CHECKING:
    from facekeeper.inference.base import Embedder
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings


@dataclass(frozen=True)
class EmbedderManifest:
    name: str
    path: Path
    version: str
    size: int
    layout: str  # "NCHW" or "NHWC"
    color: str  # "RGB" or "BGR"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dimension: int
    coefficients: SimilarityCoefficients


def read_manifest(manifest_path: Path) -> EmbedderManifest:
    """The manifest, checked: any problem is a MODEL_UNAVAILABLE naming the manifest and the field."""
    label = str(manifest_path)
    try:
        data: Any = json.loads(manifest_path.read_text())
        name = _text(data, "name")
        model_path = (manifest_path.parent / _text(data, "file")).resolve()
        if not model_path.is_file():
            raise ValueError(f"file {model_path} does not exist")
        spec = data.get("input") or {}
        size = int(spec.get("size", CROP_SIZE))
        layout = str(spec.get("layout", "NCHW")).upper()
        color = str(spec.get("color", "RGB")).upper()
        mean = _triple(spec.get("mean", 0.0), "input.mean")
        std = _triple(spec.get("std", 1.0), "input.std")
        coefficients = data.get("coefficients") or {}
        c0, c1 = float(coefficients["c0"]), float(coefficients["c1"])
    except FacekeeperError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=label, reason=f"bad embedder manifest: {error}") from None
    problems = [
        message
        for bad, message in (
            (not 16 <= size <= 1024, "input.size must be 16..1024"),
            (layout not in ("NCHW", "NHWC"), "input.layout must be NCHW or NHWC"),
            (color not in ("RGB", "BGR"), "input.color must be RGB or BGR"),
            (any(s == 0 for s in std), "input.std must not be 0"),
            (not (c1 > 0 and np.isfinite(c0)), "coefficients need a finite c0 and c1 > 0"),
        )
        if bad
    ]
    if problems:
        raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=label, reason="; ".join(problems))
    version = str(data.get("version") or f"{name}.Calculator@sha256:{_sha256_prefix(model_path)}")
    dimension = int(data.get("dimension") or _output_dimension(model_path, label))
    return EmbedderManifest(
        name, model_path, version, size, layout, color, mean, std, dimension, SimilarityCoefficients(c0, c1)
    )


class ManifestEmbedder(OnnxModel):
    """Embedder protocol (`CropsEmbedder`) for a manifest's network."""

    def __init__(
        self,
        manifest: EmbedderManifest,
        threads: int = 1,
        *,
        session: ModelSession | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        self.manifest = manifest
        self.version = manifest.version
        self.dimension = manifest.dimension
        self.coefficients = manifest.coefficients
        scale = manifest.size / CROP_SIZE
        self.crop = CropSpec(manifest.size, ARCFACE_TEMPLATE * scale, antialias=manifest.size < CROP_SIZE)
        self.crops = (self.crop,)
        self.input_name = _input_name(manifest.path)
        size = manifest.size
        sample = (1, 3, size, size) if manifest.layout == "NCHW" else (1, size, size, 3)

        def open_session() -> OnnxSession:
            return OnnxSession(
                manifest.path,
                threads,
                free_axes={self.input_name: (0,)},
                runtime=runtime,
                sample_shapes={self.input_name: sample},
            )

        super().__init__(open_session, session)

    def blob(self, faces_rgb: np.ndarray) -> np.ndarray:
        pixels = np.asarray(faces_rgb, dtype=np.float32)
        if self.manifest.color == "BGR":
            pixels = pixels[..., ::-1]
        mean, std = np.asarray(self.manifest.mean, np.float32), np.asarray(self.manifest.std, np.float32)
        pixels = np.divide(np.subtract(pixels, mean, dtype=np.float32), std, dtype=np.float32)
        if self.manifest.layout == "NCHW":
            pixels = pixels.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(pixels, dtype=np.float32)

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        """(N, size, size, 3) uint8 RGB crops -> (N, dimension) float32."""
        if len(faces_rgb) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        output = self.session.run({self.input_name: self.blob(faces_rgb)})[0]
        return np.asarray(output, dtype=np.float32).reshape(len(faces_rgb), self.dimension)

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        return self.embed(faces.get(self.crop))


def manifest_paths(settings: Settings) -> list[Path]:
    return [Path(part.strip()) for part in settings.embedder_manifests.split(",") if part.strip()]


def manifest_names(settings: Settings) -> list[str]:
    """Names of the operator's embedders, from the manifests' `name` alone: `read_manifest` would hash each
    model file on every listing. A manifest that cannot be read is left out here (using its name says why)."""
    names = []
    for path in manifest_paths(settings):
        try:
            names.append(_text(json.loads(path.read_text()), "name"))
        except (OSError, ValueError):
            continue
    return names


def resolve(_registry: ModelRegistry, name: str, settings: Settings) -> Embedder | None:
    for path in manifest_paths(settings):
        manifest = read_manifest(path)
        if manifest.name == name:
            return ManifestEmbedder(manifest, settings.onnx_threads, runtime=RuntimeOptions.of(settings))
    return None


def register(registry: ModelRegistry) -> None:
    registry.add_embedder_resolver(resolve)


def _text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _triple(value: Any, key: str) -> tuple[float, float, float]:
    values = [float(value)] * 3 if isinstance(value, int | float) else [float(v) for v in value]
    if len(values) != 3:
        raise ValueError(f"{key} must be one number or three")
    return values[0], values[1], values[2]


def _sha256_prefix(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def _graph(path: Path, label: str) -> onnx.GraphProto:
    try:
        return onnx.load(str(path), load_external_data=False).graph
    except Exception as error:  # not protobuf, truncated...: the operator's file cannot be used
        raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=label, reason=str(error)) from None


def _input_name(path: Path) -> str:
    graph = _graph(path, str(path))
    initialisers = {tensor.name for tensor in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=str(path), reason=f"expected one image input, got {inputs}")
    return str(inputs[0])


def _output_dimension(path: Path, label: str) -> int:
    graph = _graph(path, label)
    dims = graph.output[0].type.tensor_type.shape.dim if graph.output else []
    last = dims[-1].dim_value if dims else 0
    if last <= 0:
        raise ValueError("the output's size is not in the graph: give `dimension`")
    return int(last)
