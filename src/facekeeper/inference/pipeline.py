"""Image bytes to faces: decode, detect on a downscaled copy, filter, align, embed, run face plugins.

Reproduces CompreFace's core (`find_faces`) semantics: strict `probability > threshold`, area-descending
order, `limit` after thresholding, per-face execution times, and code 28 for "nothing usable here".
The embedder and every plugin see all faces of a photo as one batch of crops (`FaceCrops`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import cv2
import numpy as np

from facekeeper.domain import CALCULATOR, BoundingBox, Face, FaceScan, ScanOptions
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.base import (
    Detection,
    Detector,
    Embedder,
    FacePlugin,
    embed_faces,
    embedder_crops,
    runtime_of,
)
from facekeeper.inference.crops import FaceCrops
from facekeeper.inference.images import decode_image


class FacePipeline:
    """Stateless per request; safe to call from several inference workers at once."""

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder,
        plugins: Sequence[FacePlugin] = (),
        *,
        max_detect_size: int = 640,
        max_image_pixels: int = 40_000_000,
        max_jpeg_scans: int = 100,
        default_threshold: float | None = None,
        beside: Callable[[Callable[[], Any]], Future[Any] | None] | None = None,
        embedder_name: str | None = None,
        embedders: Callable[[str], Embedder] | None = None,
    ) -> None:
        """`beside` (the inference pool's) may run the plugins in an idle worker while the embedder runs.

        `embedder` is the active one, registered as `embedder_name`; `embedders` builds any other by name
        (a collection built with another embedder is queried with that one), once, on first use."""
        self.detector = detector
        self.embedder = embedder
        self.embedder_name = embedder_name
        self._embedder_factory = embedders
        self._embedders: dict[str, Embedder] = {embedder_name: embedder} if embedder_name else {}
        self._embedders_lock = threading.Lock()
        self.plugins = {plugin.slug: plugin for plugin in plugins}
        self.max_detect_size = max_detect_size
        self.max_image_pixels = max_image_pixels
        self.max_jpeg_scans = max_jpeg_scans
        self.default_threshold = detector.default_threshold if default_threshold is None else default_threshold
        self.beside = beside
        self._load_lock = threading.Lock()
        self._loaded = False
        # Called with every finished scan (the metrics record each model's time from it).
        self.scan_observers: list[Callable[[FaceScan], None]] = []

    def load(self) -> None:
        """Load every model now instead of on first use (optional preload at start-up)."""
        with self._load_lock:
            if self._loaded:
                return
            self.detector.load()
            self.embedder.load()
            for plugin in self.plugins.values():
                plugin.load()
            self._loaded = True

    def embedder_for(self, name: str | None) -> Embedder:
        """The embedder registered as `name` (None: the active one), built on first use and kept."""
        if name is None or name == self.embedder_name:
            return self.embedder
        with self._embedders_lock:
            found = self._embedders.get(name)
            if found is None:
                if self._embedder_factory is None:
                    raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=name, reason="this server has no such embedder")
                found = self._embedder_factory(name)
                self._embedders[name] = found
            return found

    def scan(self, image: bytes, options: ScanOptions) -> FaceScan:
        return self.scan_image(decode_image(image, self.max_image_pixels, self.max_jpeg_scans), options)

    def scan_image(self, image_rgb: np.ndarray, options: ScanOptions) -> FaceScan:
        _check_threshold(options.det_prob_threshold)
        versions = {"detector": self.detector.version}
        if options.detect_faces:
            self.detector.load()  # a first request's model load is not detection time
            started = time.perf_counter()
            detections = self.detections(image_rgb, options)
            detector_ms = _elapsed_ms(started)
            crops = FaceCrops(image_rgb, [d.landmarks for d in detections])
            _add_runtime(versions, "detector", self.detector)
        else:
            height, width = image_rgb.shape[:2]
            detections, detector_ms = [Detection(0, 0, width, height, 1.0, np.zeros((0, 2)))], 0.0
            crops = FaceCrops(image_rgb, None)
        faces = [_to_face(detection, image_rgb.shape) for detection in detections]
        for face in faces:
            face.execution_time_ms["detector"] = float(detector_ms // len(faces))
        # CompreFace drops pose and mask when the whole image is the face: no landmarks to place them.
        plugins = [
            plugin
            for plugin in self.plugins.values()
            if plugin.slug in options.plugins and not (crops.whole_image and plugin.needs_landmarks)
        ]
        embedding = CALCULATOR in options.plugins
        embedder = self.embedder_for(options.embedder) if embedding else self.embedder
        if embedding:
            for spec in embedder_crops(embedder):
                crops.get(spec)  # cut before the plugins may start beside: crops are not cut concurrently
        beside = (
            self.beside(lambda: self._run_plugins(plugins, crops)) if embedding and plugins and self.beside else None
        )
        if embedding:
            self._embed(embedder, crops, faces)
            versions[CALCULATOR] = embedder.version
            _add_runtime(versions, CALCULATOR, embedder)
        results = beside.result() if beside is not None else self._run_plugins(plugins, crops)
        for plugin, (values, per_face_ms) in zip(plugins, results, strict=True):
            for face, value in zip(faces, values, strict=True):
                face.attributes[plugin.slug] = value
                face.execution_time_ms[plugin.slug] = per_face_ms
            versions[plugin.slug] = plugin.version
            _add_runtime(versions, plugin.slug, plugin)
        scan = FaceScan(faces=faces, plugins_versions=versions)
        for observe in self.scan_observers:
            observe(scan)
        return scan

    def detections(self, image_rgb: np.ndarray, options: ScanOptions) -> list[Detection]:
        """Kept detections in original-image pixels, biggest first; NO_FACES_FOUND when none is kept."""
        self.detector.load()
        small, scale_x, scale_y = self._detection_copy(image_rgb)
        found = [_rescale(d, scale_x, scale_y, image_rgb.shape) for d in self.detector.detect(small)]
        threshold = self.default_threshold if options.det_prob_threshold is None else options.det_prob_threshold
        kept = [d for d in found if d.probability > threshold and _area(d) > 0]
        kept.sort(key=lambda d: (-round(_area(d)), -d.probability))
        if options.limit > 0:
            kept = kept[: options.limit]
        if options.max_faces is not None:
            kept = kept[: options.max_faces]
        if not kept:
            raise FacekeeperError(Error.NO_FACES_FOUND)
        return kept

    def _detection_copy(self, image_rgb: np.ndarray) -> tuple[np.ndarray, float, float]:
        """A copy with the longest side max_detect_size (never upscaled), and factors back to the original."""
        height, width = image_rgb.shape[:2]
        longest = max(height, width)
        if longest <= self.max_detect_size:
            return image_rgb, 1.0, 1.0
        factor = self.max_detect_size / longest
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small = cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA)
        return small, width / size[0], height / size[1]

    @staticmethod
    def _embed(embedder: Embedder, crops: FaceCrops, faces: list[Face]) -> None:
        """One embedder batch for every kept face; crops come from the full-resolution image."""
        embedder.load()
        started = time.perf_counter()
        embeddings = embed_faces(embedder, crops)
        per_face_ms = _elapsed_ms(started) / len(faces)
        for face, embedding in zip(faces, embeddings, strict=True):
            face.embedding = np.asarray(embedding, dtype=np.float32)
            face.execution_time_ms[CALCULATOR] = per_face_ms

    @staticmethod
    def _run_plugins(plugins: list[FacePlugin], crops: FaceCrops) -> list[tuple[list[object], float]]:
        """Each plugin's values for every face (one batch) and its per-face ms: the batch time, crops
        included, shared equally, like the embedder's."""
        results = []
        for plugin in plugins:
            plugin.load()
            started = time.perf_counter()
            values = list(plugin.predict(crops))
            if len(values) != len(crops):
                raise RuntimeError(f"plugin {plugin.slug} answered {len(values)} values for {len(crops)} faces")
            results.append((values, _elapsed_ms(started) / len(crops)))
        return results


def _add_runtime(versions: dict[str, str], key: str, model: object) -> None:
    """`<key>.runtime` beside a model's version when it says what it runs on (extra keys that CompreFace
    clients ignore; the version values themselves stay CompreFace's and are what examples are stored with)."""
    runtime = runtime_of(model)
    if runtime:
        versions[f"{key}.runtime"] = runtime


def _check_threshold(threshold: float | None) -> None:
    """CompreFace's core answers 400 to a threshold outside [0, 1], which its API reports as code 28."""
    if threshold is not None and (math.isnan(threshold) or not 0.0 <= threshold <= 1.0):
        raise FacekeeperError(Error.NO_FACES_FOUND)


def _rescale(detection: Detection, scale_x: float, scale_y: float, shape: tuple[int, ...]) -> Detection:
    """Back to original pixels, clipped to the image so boxes never point outside it."""
    height, width = shape[:2]
    landmarks = np.asarray(detection.landmarks, dtype=np.float32).reshape(-1, 2) * (scale_x, scale_y)
    return Detection(
        x_min=min(max(detection.x_min * scale_x, 0.0), width),
        y_min=min(max(detection.y_min * scale_y, 0.0), height),
        x_max=min(max(detection.x_max * scale_x, 0.0), width),
        y_max=min(max(detection.y_max * scale_y, 0.0), height),
        probability=float(detection.probability),
        landmarks=landmarks.astype(np.float32),
    )


def _to_face(detection: Detection, shape: tuple[int, ...]) -> Face:
    height, width = shape[:2]
    box = BoundingBox(
        x_min=round(detection.x_min),
        y_min=round(detection.y_min),
        x_max=round(detection.x_max),
        y_max=round(detection.y_max),
        probability=float(detection.probability),
    )
    landmarks = [
        (min(max(round(x), 0), width - 1), min(max(round(y), 0), height - 1))
        for x, y in np.asarray(detection.landmarks).reshape(-1, 2)
    ]
    return Face(box=box, landmarks=landmarks)


def _area(detection: Detection) -> float:
    return max(0.0, detection.x_max - detection.x_min) * max(0.0, detection.y_max - detection.y_min)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
