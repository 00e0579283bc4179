"""Face crops the way ArcFace-family embedders were trained: a 5-point similarity transform to 112x112.

Crops are always cut from the original full-resolution image, never from the detector's downscaled copy,
so small faces keep every pixel they have.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 112

# Where the eyes, nose and mouth corners sit in a 112x112 ArcFace crop (image-left eye first).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def align_face(image_rgb: np.ndarray, landmarks: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """A (size, size, 3) uint8 crop; rotation, uniform scale and shift only, so faces are not sheared."""
    template = ARCFACE_TEMPLATE * (size / CROP_SIZE)
    points = np.asarray(landmarks, dtype=np.float32).reshape(5, 2)
    matrix, _ = cv2.estimateAffinePartial2D(points, template, method=cv2.LMEDS)
    if matrix is None:
        # Degenerate landmarks (all on one point) have no transform: the whole image is the best guess.
        return resize_whole(image_rgb, size)
    return cv2.warpAffine(image_rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))


def align_faces(image_rgb: np.ndarray, landmarks: list[np.ndarray], size: int = CROP_SIZE) -> np.ndarray:
    """(N, size, size, 3) uint8, one crop per landmark set, ready for one embedder batch."""
    crops = [align_face(image_rgb, points, size) for points in landmarks]
    if not crops:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    return np.stack(crops)


def resize_whole(image_rgb: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The whole image as one face (detect_faces=false): CompreFace feeds it to the embedder unaligned."""
    height, width = image_rgb.shape[:2]
    shrinking = height > size or width > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image_rgb, (size, size), interpolation=interpolation)
