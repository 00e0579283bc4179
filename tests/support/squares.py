"""Deterministic stand-ins for the detector and embedder, for API tests that need no weights.

A "face" is a coloured square on a black image: the detector finds each square, its probability is
the square's blue channel / 255, and the embedder turns the square's red and green into a direction,
so squares of the same colour are the same person and red vs green are strangers. The fake face plugins
answer in the real plugins' shapes from the square's colour (red squares are "male", green "female").
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from facekeeper.domain import Age, Gender, Mask, Pose, SimilarityCoefficients
from facekeeper.inference.base import Detection
from facekeeper.inference.crops import ARCFACE_112, FaceCrops
from facekeeper.inference.registry import ModelRegistry, default_registry
from facekeeper.settings import Settings

RED = (250, 0, 250)
GREEN = (0, 250, 250)
BLUE_ISH = (120, 120, 250)


class SquareDetector:
    version = "squares.FaceDetector@test"
    default_threshold = 0.5

    def load(self) -> None:
        pass

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        mask = (image_rgb.max(axis=2) > 0).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        found = []
        for x, y, w, h, area in stats[1:count]:
            if area < 16:
                continue
            blue = float(image_rgb[y + h // 2, x + w // 2, 2])
            relative = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], dtype=np.float32)
            landmarks = relative * (w, h) + (x, y)
            found.append(Detection(float(x), float(y), float(x + w), float(y + h), blue / 255.0, landmarks))
        return found


class ColourEmbedder:
    version = "colours.Calculator@test"
    dimension = 4
    coefficients = SimilarityCoefficients(1.0, 4.0)

    def load(self) -> None:
        pass

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        centre = faces_rgb[:, 40:72, 40:72, :].reshape(len(faces_rgb), -1, 3).mean(axis=1)
        red, green = centre[:, 0], centre[:, 1]
        return np.stack([red, green, 0.05 * red, 0.05 * green], axis=1).astype(np.float32) + 1e-3


class ColourPlugin:
    """A face plugin whose answer is a function of each crop's centre colour (red, green)."""

    def __init__(self, slug: str, needs_landmarks: bool, answer: Callable[[float, float], object]) -> None:
        self.slug = slug
        self.version = f"colours.{slug.capitalize()}Plugin@test"
        self.needs_landmarks = needs_landmarks
        self.answer = answer

    def load(self) -> None:
        pass

    def predict(self, faces: FaceCrops) -> list[object]:
        centre = faces.get(ARCFACE_112)[:, 40:72, 40:72, :].reshape(len(faces), -1, 3).mean(axis=1)
        return [self.answer(float(red), float(green)) for red, green, _ in centre]


PLUGINS = (
    ColourPlugin("age", False, lambda red, green: Age(20 if red > green else 30, 25 if red > green else 40, 0.75)),
    ColourPlugin("gender", False, lambda red, green: Gender("male" if red > green else "female", 0.9)),
    ColourPlugin("mask", True, lambda red, green: Mask("without_mask", 0.8)),
    ColourPlugin("pose", True, lambda red, green: Pose(pitch=1.5, yaw=-2.0, roll=0.5)),
)


def add_to(registry: ModelRegistry) -> None:
    """The registry hook of the fakes: the same one an outside model package implements."""
    registry.add_detector("squares", lambda _settings: SquareDetector())
    registry.add_embedder("colours", lambda _settings: ColourEmbedder())
    for plugin in PLUGINS:
        registry.add_plugin(plugin.slug, functools.partial(_same_plugin, plugin))


def _same_plugin(plugin: ColourPlugin, _settings: Settings) -> ColourPlugin:
    return plugin


def registry() -> ModelRegistry:
    """The built-in registry plus the fakes, whose plugins replace the real age, gender, mask and pose."""
    return default_registry(extra_hooks=[add_to])


def test_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "detector": "squares",
        "embedder": "colours",
        "plugins": ",".join(plugin.slug for plugin in PLUGINS),
        "inference_workers": 1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def image(
    squares: list[tuple[int, int, int, tuple[int, int, int]]], size: tuple[int, int] = (240, 200), fmt: str = "PNG"
) -> bytes:
    """An image of `squares` (x, y, side, rgb) on black; PNG keeps colours exact."""
    canvas = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    for x, y, side, colour in squares:
        canvas[y : y + side, x : x + side] = colour
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format=fmt)
    return buffer.getvalue()


def one_face(colour: tuple[int, int, int] = RED, side: int = 80) -> bytes:
    return image([(60, 50, side, colour)])
