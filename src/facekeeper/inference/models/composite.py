"""Embedders made of others: a flip-averaged variant of any embedder, and the `sface+dlib` fusion.

- Flip: the face and its mirror image are embedded, each L2-normalised, and averaged. Cheap insurance
  against a pose the model handles unevenly; costs one more embedder run per face.
- Fusion: each model's vector L2-normalised and multiplied by a weight fixed beforehand (equal weights,
  1/sqrt(2) each, so the result has unit length and its cosine is the mean of the two cosines), then
  concatenated. The weights are not fitted on any data: only the similarity coefficients are.

Each variant carries its own calculator version (its vectors are not comparable with its parts') and its
own similarity coefficients, fitted by benchmarks/calibrate.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from facekeeper.domain import SimilarityCoefficients, l2_normalize
from facekeeper.inference.base import Embedder, embed_faces, embedder_crops, runtime_of
from facekeeper.inference.crops import CropSpec, FaceCrops

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

FLIP_SUFFIX = "-flip"
FUSION_WEIGHTS = (float(np.sqrt(0.5)), float(np.sqrt(0.5)))

# Fitted by benchmarks/calibrate.py on ../shared/calibration/lfw-dev + ../shared/faces (docs/models.md).
# A flip variant of an embedder not listed here uses its parent's coefficients.
COEFFICIENTS: dict[str, SimilarityCoefficients] = {
    "sface-flip": SimilarityCoefficients(c0=1.132128, c1=16.0018),
    "dlib-flip": SimilarityCoefficients(c0=0.402276, c1=28.5813),
    "sface+dlib": SimilarityCoefficients(c0=0.861610, c1=20.2702),
    "sface+dlib-flip": SimilarityCoefficients(c0=0.865455, c1=20.9694),
}


class MirroredCrops(FaceCrops):
    """The same faces seen in a mirror: every crop geometry flipped left to right."""

    def __init__(self, faces: FaceCrops) -> None:
        super().__init__(faces.image_rgb, faces.landmarks)
        self.faces = faces

    def _cut(self, spec: CropSpec) -> np.ndarray:
        return np.ascontiguousarray(self.faces.get(spec)[:, :, ::-1])


class FlipAveraged:
    """Embedder protocol: mean of the normalised embeddings of each face and of its mirror image."""

    def __init__(self, inner: Embedder, coefficients: SimilarityCoefficients | None = None) -> None:
        self.inner = inner
        self.version = f"{inner.version}+flip"
        self.dimension = inner.dimension
        self.coefficients = coefficients or inner.coefficients
        self.crops: tuple[CropSpec, ...] = embedder_crops(inner)

    def load(self) -> None:
        self.inner.load()

    @property
    def runtime(self) -> str | None:
        return runtime_of(self.inner)

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        """ArcFace 112 px crops (the protocol's plain entry point)."""
        both = np.concatenate([faces_rgb, faces_rgb[:, :, ::-1]])
        return self._average(self.inner.embed(np.ascontiguousarray(both)), len(faces_rgb))

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        straight = embed_faces(self.inner, faces)
        mirrored = embed_faces(self.inner, MirroredCrops(faces))
        return self._average(np.concatenate([straight, mirrored]), len(straight))

    @staticmethod
    def _average(embeddings: np.ndarray, count: int) -> np.ndarray:
        normalised = l2_normalize(embeddings)
        return np.asarray((normalised[:count] + normalised[count:]) / 2, dtype=np.float32)


class Fusion:
    """Embedder protocol: weighted concatenation of several embedders' normalised vectors."""

    def __init__(
        self,
        parts: Sequence[Embedder],
        weights: Sequence[float],
        coefficients: SimilarityCoefficients,
        version: str | None = None,
    ) -> None:
        if len(parts) != len(weights) or not parts:
            raise ValueError("a fusion needs one weight per embedder")
        self.parts = list(parts)
        self.weights = [float(w) for w in weights]
        self.dimension = sum(part.dimension for part in parts)
        self.coefficients = coefficients
        self.version = (
            version or "fusion(" + ",".join(f"{p.version}*{w:.4f}" for p, w in zip(parts, weights, strict=True)) + ")"
        )
        self.crops = tuple(dict.fromkeys(spec for part in parts for spec in embedder_crops(part)))
        self._load_lock = threading.Lock()

    def load(self) -> None:
        with self._load_lock:
            for part in self.parts:
                part.load()

    @property
    def runtime(self) -> str | None:
        """Each part's runtime, in order."""
        known = [runtime for runtime in map(runtime_of, self.parts) if runtime]
        return " + ".join(known) if known else None

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        """Each array taken as a whole-image face (every part resizes it to its own input); the pipeline
        calls `embed_faces`, which cuts each part's crop from the photo."""
        rows = [self.embed_faces(FaceCrops(np.ascontiguousarray(face), None)) for face in faces_rgb]
        return np.concatenate(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        vectors = [
            l2_normalize(embed_faces(part, faces)) * weight
            for part, weight in zip(self.parts, self.weights, strict=True)
        ]
        return np.asarray(np.concatenate(vectors, axis=1), dtype=np.float32)


def flip_of(registry: ModelRegistry, name: str, settings: Settings) -> Embedder | None:
    """The resolver of `<any embedder>-flip` names."""
    if not name.endswith(FLIP_SUFFIX) or len(name) == len(FLIP_SUFFIX):
        return None
    inner = registry.build_embedder(name[: -len(FLIP_SUFFIX)], settings)
    return FlipAveraged(inner, COEFFICIENTS.get(name))


def register(registry: ModelRegistry) -> None:
    def sface_dlib(settings: Settings) -> Fusion:
        parts = [registry.build_embedder("sface", settings), registry.build_embedder("dlib", settings)]
        version = "sface+dlib.Calculator@" + "+".join(part.version.split("@", 1)[1] for part in parts)
        return Fusion(parts, FUSION_WEIGHTS, COEFFICIENTS["sface+dlib"], version)

    registry.add_embedder("sface+dlib", sface_dlib)
    registry.add_embedder_resolver(flip_of)
