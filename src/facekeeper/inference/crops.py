"""The faces of one photo, cut once per crop geometry and shared by the embedder and every plugin.

Each model was trained on its own framing (ArcFace 112 px for the embedder, dlib chips for age and gender,
loose upright crops for pose), so a model names the geometry it needs as a `CropSpec` and the pipeline's
`FaceCrops` cuts every face of the photo in that geometry once, as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
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
    # Average the image pixels each crop pixel covers (as dlib's chips do) instead of sampling one point;
    # matters for small crops of big faces, e.g. 32 px age/gender chips.
    antialias: bool = False
    # > 1: the crop shows a region this many times taller than wide, squeezed into the square, as models
    # trained on detector boxes resized to a square saw faces. `template` is in those squeezed pixels.
    aspect: float = 1.0

    def matrix(self, landmarks: np.ndarray) -> np.ndarray | None:
        """The 2x3 image -> crop transform, or None for degenerate landmarks."""
        fit = similarity_transform if self.rotate else upright_transform
        matrix = fit(landmarks, self.template * (1.0, self.aspect))
        if matrix is not None and self.aspect != 1.0:
            matrix[1] /= self.aspect
        return matrix


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
            if matrix is None:
                crops[index] = resize_whole(self.image_rgb, spec.size)
            elif spec.antialias:
                crops[index] = _antialiased_warp(self.image_rgb, matrix, spec.size)
            else:
                crops[index] = warp(self.image_rgb, matrix, spec.size)
        return crops


def _antialiased_warp(image_rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp at `factor` times the size, then area-average down: each crop pixel averages what it covers."""
    crop_px_per_image_px = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    factor = int(min(8, 1 / crop_px_per_image_px)) if crop_px_per_image_px > 0 else 1
    if factor < 2:
        return warp(image_rgb, matrix, size)
    # Crop pixel j becomes the block [j * factor, (j + 1) * factor) whose centre is j * factor + (factor - 1) / 2.
    large_matrix = matrix * factor
    large_matrix[:, 2] += (factor - 1) / 2
    large = warp(image_rgb, large_matrix, size * factor)
    return cv2.resize(large, (size, size), interpolation=cv2.INTER_AREA)
