"""Deterministic fakes of the model protocols and small image helpers, shared by the inference tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from facekeeper.domain import SimilarityCoefficients
from facekeeper.inference.base import Detection
from facekeeper.inference.crops import ARCFACE_112, CropSpec, FaceCrops

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def box(x_min: float, y_min: float, x_max: float, y_max: float, probability: float) -> Detection:
    """A detection whose landmarks sit where a frontal face's would, inside the box."""
    width, height = x_max - x_min, y_max - y_min
    relative = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], dtype=np.float32)
    landmarks = relative * (width, height) + (x_min, y_min)
    return Detection(x_min, y_min, x_max, y_max, probability, landmarks.astype(np.float32))


class FakeDetector:
    """Returns canned detections (in the coordinates of the image it is given) and records what it saw."""

    version = "fake.FaceDetector@1"
    default_threshold = 0.5

    def __init__(self, detections: list[Detection]) -> None:
        self.detections = detections
        self.seen_shapes: list[tuple[int, ...]] = []
        self.loads = 0

    def load(self) -> None:
        self.loads += 1

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        self.seen_shapes.append(image_rgb.shape)
        return list(self.detections)


class FakeEmbedder:
    """The embedding is the mean colour of each crop, repeated: same crop, same vector."""

    version = "fake.Calculator@1"
    dimension = 4
    coefficients = SimilarityCoefficients(1.1, 5.0)

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def load(self) -> None:
        pass

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        self.batches.append(faces_rgb)
        means = faces_rgb.reshape(len(faces_rgb), -1).mean(axis=1, dtype=np.float32)
        return np.repeat(means[:, None], self.dimension, axis=1) + np.arange(self.dimension, dtype=np.float32)


class FakePlugin:
    """Answers with each face's mean crop colour, so a test can tell faces apart; records its batches."""

    def __init__(self, slug: str = "age", needs_landmarks: bool = False, crop: CropSpec = ARCFACE_112) -> None:
        self.slug = slug
        self.version = f"fake.{slug}@1"
        self.needs_landmarks = needs_landmarks
        self.crop = crop
        self.batches: list[int] = []

    def load(self) -> None:
        pass

    def predict(self, faces: FaceCrops) -> list[object]:
        crops = faces.get(self.crop)
        self.batches.append(len(crops))
        return [{"mean": float(crop.mean())} for crop in crops]


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


class StubSession:
    """A `ModelSession` with canned outputs (a function of the input batch); records every input it got."""

    def __init__(self, answer: Callable[[np.ndarray], np.ndarray], input_name: str = "input") -> None:
        self.input_names = [input_name]
        self.answer = answer
        self.inputs: list[np.ndarray] = []

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        (blob,) = inputs.values()
        self.inputs.append(blob)
        return [self.answer(blob)]
