"""Plain values shared by every layer, and CompreFace's similarity formula."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class ServiceType(StrEnum):
    """A service's kind; the value is the one-letter code CompreFace stores."""

    RECOGNITION = "R"
    DETECTION = "D"
    VERIFICATION = "V"

    @property
    def label(self) -> str:
        """Spelling used in CompreFace's error messages ("Recognition service with API Key ...")."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> ServiceType:
        """Accept CLI/admin spellings: recognition, detection, verification (or CompreFace's VERIFY)."""
        name = text.strip().upper()
        if name == "VERIFY":
            name = "VERIFICATION"
        return cls[name]


@dataclass(frozen=True)
class ServiceRecord:
    id: str
    name: str
    type: ServiceType
    api_key: str
    revision: int = 0


@dataclass(frozen=True)
class BoundingBox:
    x_min: int
    y_min: int
    x_max: int
    y_max: int
    probability: float

    @property
    def area(self) -> int:
        return max(0, self.x_max - self.x_min) * max(0, self.y_max - self.y_min)


@dataclass
class Face:
    """One detected face with whatever the pipeline computed for it."""

    box: BoundingBox
    landmarks: list[tuple[int, int]]
    embedding: np.ndarray | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    execution_time_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class FaceScan:
    """What the pipeline returns for one image."""

    faces: list[Face]
    plugins_versions: dict[str, str]


@dataclass(frozen=True)
class Example:
    image_id: str
    subject: str


@dataclass(frozen=True)
class Match:
    """A stored example compared with a query face."""

    image_id: str
    subject: str
    similarity: float


@dataclass(frozen=True)
class SimilarityCoefficients:
    """(c0, c1) of CompreFace's `(tanh((c0 - d) * c1) + 1) / 2`; similarity is 0.5 exactly at d = c0."""

    c0: float
    c1: float

    def similarity(self, distance: float) -> float:
        return (math.tanh((self.c0 - distance) * self.c1) + 1.0) / 2.0

    def similarities(self, distances: np.ndarray) -> np.ndarray:
        return (np.tanh((self.c0 - distances) * self.c1) + 1.0) / 2.0


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows (float32); zero rows stay zero instead of becoming NaN."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def round_half_up(value: float, digits: int = 5) -> float:
    """Java's BigDecimal.setScale(5, HALF_UP) as CompreFace applies it to similarities."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
