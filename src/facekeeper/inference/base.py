"""The small interfaces every model implements, so a new detector or embedder is one new module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from facekeeper.domain import SimilarityCoefficients
from facekeeper.inference.crops import ARCFACE_112, CropSpec, FaceCrops


@dataclass(frozen=True)
class Detection:
    """A raw detector output in the coordinates of the image it was given (floats, not yet clipped)."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    probability: float
    landmarks: np.ndarray  # shape (5, 2): image-left eye, image-right eye, nose, left mouth, right mouth


@runtime_checkable
class Detector(Protocol):
    """Finds faces and their 5 landmarks in an RGB uint8 image."""

    version: str  # CompreFace `plugins_versions.detector`, e.g. "yunet.FaceDetector@2023mar"
    default_threshold: float  # calibrated (D9); faces are kept when probability > threshold

    def load(self) -> None: ...

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        """Every candidate face; thresholding and limiting are the pipeline's job."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns aligned 112x112 RGB face crops into embeddings."""

    version: str  # CompreFace `plugins_versions.calculator`, stored with every example
    dimension: int
    coefficients: SimilarityCoefficients  # calibrated for this model (D8)

    def load(self) -> None: ...

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB -> (N, dimension) float32, not normalised."""
        ...


@runtime_checkable
class CropsEmbedder(Embedder, Protocol):
    """An embedder that cuts its own crops from the photo's faces: a model trained on another framing
    (dlib's 150 px chips), or several models at once (a fusion, a flip-averaged variant)."""

    crops: tuple[CropSpec, ...]  # every geometry `embed_faces` will ask for (cut before plugins run beside)

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        """(N, dimension) float32 for the N faces, not normalised."""
        ...


def embedder_crops(embedder: Embedder) -> tuple[CropSpec, ...]:
    return embedder.crops if isinstance(embedder, CropsEmbedder) else (ARCFACE_112,)


def embed_faces(embedder: Embedder, faces: FaceCrops) -> np.ndarray:
    """The one way the pipeline embeds: ArcFace 112 px crops unless the embedder cuts its own."""
    if isinstance(embedder, CropsEmbedder):
        return embedder.embed_faces(faces)
    return embedder.embed(faces.get(ARCFACE_112))


@runtime_checkable
class FacePlugin(Protocol):
    """A face plugin beyond detection and embedding (age, gender, mask, pose), selected by its slug."""

    slug: str  # the `face_plugins` slug and the key of its value in the face object, e.g. "age"
    version: str  # CompreFace `plugins_versions.<slug>`
    needs_landmarks: bool  # True: skipped when the whole image is the face (CompreFace skips pose and mask)

    def load(self) -> None: ...

    def predict(self, faces: FaceCrops) -> Sequence[object]:
        """One value per face, in order (a domain value such as `Age`, or any JSON-ready value)."""
        ...


@runtime_checkable
class ReportsRuntime(Protocol):
    """A loaded model that says which runtime, version and precision it runs on, e.g. "onnxruntime 1.32.0
    f32"; `status=true` shows it in `plugins_versions` as "<key>.runtime" beside the model's version."""

    @property
    def runtime(self) -> str | None: ...


def runtime_of(model: object) -> str | None:
    return model.runtime if isinstance(model, ReportsRuntime) else None
