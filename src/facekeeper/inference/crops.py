"""The faces of one photo, cut once per crop geometry and shared by the embedder and every plugin.

Each model was trained on its own framing (ArcFace 112 px for the embedder, dlib chips for age and gender,
loose upright crops for pose), so a model names the geometry it needs as a `CropSpec` and the pipeline's
`FaceCrops` cuts every face of the photo in that geometry once, as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facekeeper.inference.alignment import (
    ARCFACE_TEMPLATE,
    CROP_SIZE,
    resize_whole,
    similarity_transform,
    upright_transform,
    warp,
)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a spec is a module-level constant
class CropSpec:
    """A square crop of `size` px in which the five landmarks land as close as possible to `template`."""

    size: int
    template: np.ndarray  # (5, 2) pixels in the crop: image-left eye, image-right eye, nose, mouth corners
    rotate: bool = True  # False keeps the head's roll in the crop (scale and shift only)

    def matrix(self, landmarks: np.ndarray) -> np.ndarray | None:
        """The 2x3 image -> crop transform, or None for degenerate landmarks."""
        fit = similarity_transform if self.rotate else upright_transform
        return fit(landmarks, self.template)


ARCFACE_112 = CropSpec(CROP_SIZE, ARCFACE_TEMPLATE)


class FaceCrops:
    """Crops of every kept face of one photo, in detection order; one instance per scan (not thread-safe).

    `landmarks` is None when the whole image is the face (`detect_faces=false`): every geometry is then the
    whole image resized, as CompreFace does.
    """

    def __init__(self, image_rgb: np.ndarray, landmarks: list[np.ndarray] | None) -> None:
        self.image_rgb = image_rgb
        self.landmarks = landmarks
        self._cache: dict[CropSpec, np.ndarray] = {}

    def __len__(self) -> int:
        return 1 if self.landmarks is None else len(self.landmarks)

    @property
    def whole_image(self) -> bool:
        return self.landmarks is None

    def get(self, spec: CropSpec) -> np.ndarray:
        """(N, size, size, 3) uint8 RGB, cut on first request and reused by every later model."""
        crops = self._cache.get(spec)
        if crops is None:
            crops = self._cut(spec)
            self._cache[spec] = crops
        return crops

    def _cut(self, spec: CropSpec) -> np.ndarray:
        if self.landmarks is None:
            return resize_whole(self.image_rgb, spec.size)[None]
        crops = np.zeros((len(self.landmarks), spec.size, spec.size, 3), dtype=np.uint8)
        for index, points in enumerate(self.landmarks):
            matrix = spec.matrix(points)
            # Degenerate landmarks (all on one point) have no transform: the whole image is the best guess.
            crops[index] = (
                resize_whole(self.image_rgb, spec.size) if matrix is None else warp(self.image_rgb, matrix, spec.size)
            )
        return crops
