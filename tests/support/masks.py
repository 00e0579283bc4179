"""Draw a surgical-style mask over the lower face of a photo, placed from the face's 5 landmarks.

Used by the mask tests and by benchmarks/plugin_quality.py: a real photo with a mask drawn from the bridge
of the nose to below the chin, following the head's roll, in a plain light-blue with pleats.
"""

from __future__ import annotations

import cv2
import numpy as np

MASK_RGB = (168, 198, 226)
PLEAT_RGB = (140, 170, 200)


def draw_mask(image_rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A copy of the image with a mask over the face whose landmarks (eyes, nose, mouth corners) are given."""
    left_eye, right_eye, nose, left_mouth, right_mouth = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    across = right_eye - left_eye
    eye_distance = float(np.linalg.norm(across))
    across /= eye_distance
    down = np.array([-across[1], across[0]])  # image y grows downwards
    eyes = (left_eye + right_eye) / 2
    mouth = (left_mouth + right_mouth) / 2

    def at(origin: np.ndarray, side: float, below: float) -> np.ndarray:
        return origin + side * eye_distance * across + below * eye_distance * down

    bridge = eyes + 0.55 * float(np.dot(nose - eyes, down)) * down
    outline = np.array(
        [
            at(bridge, -0.95, 0.05),
            at(bridge, -0.2, -0.08),
            at(bridge, 0.2, -0.08),
            at(bridge, 0.95, 0.05),
            at(mouth, 0.9, 0.35),
            at(mouth, 0.35, 0.85),
            at(mouth, -0.35, 0.85),
            at(mouth, -0.9, 0.35),
        ]
    )
    masked = image_rgb.copy()
    cv2.fillPoly(masked, [np.round(outline).astype(np.int32)], MASK_RGB, lineType=cv2.LINE_AA)
    thickness = max(1, round(eye_distance / 30))
    for below in (0.25, 0.5, 0.75):
        start, end = at(bridge, -0.85, 0.0), at(bridge, 0.85, 0.0)
        offset = below * float(np.dot(mouth - bridge, down) + 0.5 * eye_distance) * down
        points = np.round([start + offset, end + offset]).astype(np.int32)
        cv2.line(masked, tuple(points[0]), tuple(points[1]), PLEAT_RGB, thickness, lineType=cv2.LINE_AA)
    return masked
