"""The 5-point alignment: least squares over all points (Umeyama), not OpenCV's LMEDS subset fit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facekeeper.inference.alignment import (
    ARCFACE_TEMPLATE,
    align_face,
    similarity_transform,
    upright_transform,
)
from facekeeper.inference.crops import ARCFACE_112, CropSpec, FaceCrops


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def residual(matrix: np.ndarray, source: np.ndarray, target: np.ndarray) -> float:
    return float(((apply(matrix, source) - target) ** 2).sum())


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    angle = np.radians(angle_deg)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, np.array(shift)[:, None]])


# Landmarks of a face in a photo: the template moved by a known similarity.
PHOTO_TO_CROP = similarity(-17.0, 0.4, (-25.0, -10.0))
CROP_TO_PHOTO = cv2.invertAffineTransform(PHOTO_TO_CROP)
PHOTO_POINTS = apply(CROP_TO_PHOTO, ARCFACE_TEMPLATE.astype(np.float64))


def test_exact_on_a_synthetic_similarity() -> None:
    matrix = similarity_transform(PHOTO_POINTS, ARCFACE_TEMPLATE)
    assert matrix is not None
    np.testing.assert_allclose(matrix, PHOTO_TO_CROP, atol=1e-9)
    assert residual(matrix, PHOTO_POINTS, ARCFACE_TEMPLATE) < 1e-12


def test_least_squares_residual_is_minimal() -> None:
    noisy = PHOTO_POINTS + np.random.default_rng(3).normal(0, 4.0, PHOTO_POINTS.shape)
    best = similarity_transform(noisy, ARCFACE_TEMPLATE)
    assert best is not None
    floor = residual(best, noisy, ARCFACE_TEMPLATE)
    # Any nudge of the four similarity parameters (a, b, tx, ty of [[a, -b], [b, a]]) only adds error.
    for index, delta in [(0, 1e-3), (1, 1e-3), (2, 1e-2), (3, 1e-2)]:
        for sign in (-1, 1):
            a, b, tx, ty = best[0, 0], best[1, 0], best[0, 2], best[1, 2]
            params = [a, b, tx, ty]
            params[index] += sign * delta
            a, b, tx, ty = params
            nudged = np.array([[a, -b, tx], [b, a, ty]])
            assert residual(nudged, noisy, ARCFACE_TEMPLATE) > floor


def test_every_point_counts_where_lmeds_ignores_one() -> None:
    """A misplaced mouth corner: LMEDS fits the four good points and ignores it; least squares does not."""
    points = PHOTO_POINTS.copy()
    points[4] += (9.0, 6.0)
    ours = similarity_transform(points, ARCFACE_TEMPLATE)
    lmeds, _ = cv2.estimateAffinePartial2D(points.astype(np.float32), ARCFACE_TEMPLATE, method=cv2.LMEDS)
    assert ours is not None and lmeds is not None
    assert residual(ours, points, ARCFACE_TEMPLATE) < residual(lmeds, points, ARCFACE_TEMPLATE)
    # LMEDS lands the four untouched points exactly: it did not use the fifth at all.
    np.testing.assert_allclose(apply(lmeds, points[:4]), ARCFACE_TEMPLATE[:4], atol=0.05)
    # Least squares moves with each point: shifting any single one changes the transform.
    for index in range(5):
        moved = points.copy()
        moved[index] += (3.0, 0.0)
        changed = similarity_transform(moved, ARCFACE_TEMPLATE)
        assert changed is not None and not np.allclose(changed, ours, atol=1e-4), index


def test_never_returns_a_mirror_image() -> None:
    mirrored = PHOTO_POINTS * (-1.0, 1.0)
    matrix = similarity_transform(mirrored, ARCFACE_TEMPLATE)
    assert matrix is not None and np.linalg.det(matrix[:, :2]) > 0


def test_coincident_points_have_no_transform() -> None:
    points = np.full((5, 2), 7.0)
    assert similarity_transform(points, ARCFACE_TEMPLATE) is None
    assert upright_transform(points, ARCFACE_TEMPLATE) is None
    crop = align_face(np.zeros((50, 80, 3), dtype=np.uint8), points)
    assert crop.shape == (112, 112, 3)


def test_upright_transform_keeps_roll() -> None:
    matrix = upright_transform(PHOTO_POINTS, ARCFACE_TEMPLATE)
    assert matrix is not None
    assert matrix[0, 1] == 0 and matrix[1, 0] == 0 and matrix[0, 0] == matrix[1, 1] > 0
    shifted = upright_transform(ARCFACE_TEMPLATE * 2 + 5, ARCFACE_TEMPLATE)
    assert shifted is not None
    np.testing.assert_allclose(shifted, [[0.5, 0, -2.5], [0, 0.5, -2.5]], atol=1e-9)


def test_aligned_crop_puts_the_landmarks_on_the_template() -> None:
    image = np.zeros((400, 400, 3), dtype=np.uint8)
    for x, y in PHOTO_POINTS:
        cv2.circle(image, (round(x), round(y)), 3, (255, 255, 255), -1)
    crop = align_face(image, PHOTO_POINTS)
    for x, y in ARCFACE_TEMPLATE:
        assert crop[round(y), round(x)].mean() > 100


def test_face_crops_are_cut_once_per_geometry_and_batched() -> None:
    image = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    faces = FaceCrops(image, [PHOTO_POINTS, PHOTO_POINTS + 20])
    first = faces.get(ARCFACE_112)
    assert first.shape == (2, 112, 112, 3) and faces.get(ARCFACE_112) is first
    other = CropSpec(64, ARCFACE_TEMPLATE * 64 / 112, rotate=False)
    assert faces.get(other).shape == (2, 64, 64, 3)


@pytest.mark.parametrize("size", [112, 150])
def test_whole_image_is_every_geometry_resized(size: int) -> None:
    image = np.full((90, 160, 3), 50, dtype=np.uint8)
    faces = FaceCrops(image, None)
    assert len(faces) == 1 and faces.whole_image
    crops = faces.get(CropSpec(size, ARCFACE_TEMPLATE))
    assert crops.shape == (1, size, size, 3) and int(crops.mean()) == 50


def test_antialiased_crops_average_what_each_pixel_covers() -> None:
    """A 1-px checkerboard shrunk 8 times: averaging gives flat grey, point sampling gives noise."""
    checker = ((np.indices((800, 800)).sum(axis=0) % 2) * 255).astype(np.uint8)
    image = np.repeat(checker[..., None], 3, axis=2)
    points = ARCFACE_TEMPLATE * 8 / (112 / 14) + 300  # a face 8x bigger than the 14-px-template crop below
    template = ARCFACE_TEMPLATE * 14 / 112
    smooth = FaceCrops(image, [points]).get(CropSpec(14, template, antialias=True))[0]
    sampled = FaceCrops(image, [points]).get(CropSpec(14, template))[0]
    assert smooth.std() < 10 and abs(float(smooth.mean()) - 127.5) < 10
    # Point sampling lands on whatever squares the grid hits: far from the true mean grey, or noisy.
    assert abs(float(sampled.mean()) - 127.5) > 40 or sampled.std() > 30


def test_antialiasing_does_not_move_the_face() -> None:
    image = np.zeros((800, 800, 3), dtype=np.uint8)
    points = ARCFACE_TEMPLATE * 5 + 100
    for x, y in points:
        cv2.circle(image, (round(x), round(y)), 12, (255, 255, 255), -1)
    spec = CropSpec(56, ARCFACE_TEMPLATE / 2, antialias=True)
    crop = FaceCrops(image, [points]).get(spec)[0, :, :, 0].astype(np.float64)
    for x, y in ARCFACE_TEMPLATE / 2:
        window = crop[round(y) - 3 : round(y) + 4, round(x) - 3 : round(x) + 4]
        rows, cols = np.indices(window.shape)
        centre = ((rows * window).sum() / window.sum(), (cols * window).sum() / window.sum())
        assert abs(centre[0] - 3 - (y - round(y))) < 0.35 and abs(centre[1] - 3 - (x - round(x))) < 0.35


def test_a_squeezed_crop_puts_the_landmarks_on_its_template() -> None:
    """`aspect` 1.5: a region 1.5 times taller than wide, squeezed into the square crop."""
    image = np.zeros((600, 600, 3), dtype=np.uint8)
    template = np.array([[30.0, 35], [70, 35], [50, 55], [35, 72], [65, 72]])
    spec = CropSpec(100, template, aspect=1.5)
    points = template * (1.0, 1.5) * 2 + (100, 50)  # the face as it is in the photo: taller than the crop shows it
    for x, y in points:
        cv2.circle(image, (round(x), round(y)), 4, (255, 255, 255), -1)
    crop = FaceCrops(image, [points]).get(spec)[0]
    for x, y in template:
        assert crop[round(y), round(x)].mean() > 100
