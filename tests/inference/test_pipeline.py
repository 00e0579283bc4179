from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from PIL import Image

from facekeeper.domain import ScanOptions
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.base import Detection
from facekeeper.inference.pipeline import FacePipeline

from .fakes import FakeDetector, FakeEmbedder, FakePlugin, box, encode

SMALL, MIDDLE, BIG = box(10, 10, 30, 30, 0.9), box(100, 100, 160, 160, 0.7), box(300, 200, 420, 340, 0.6)


def pipeline(*detections: Detection, **kwargs: Any) -> FacePipeline:
    plugins = kwargs.pop("plugins", ())
    return FacePipeline(FakeDetector(list(detections)), FakeEmbedder(), plugins, **kwargs)


def test_faces_come_biggest_first(blank_rgb: np.ndarray) -> None:
    scan = pipeline(SMALL, BIG, MIDDLE).scan_image(blank_rgb, ScanOptions())
    assert [face.box.probability for face in scan.faces] == [0.6, 0.7, 0.9]
    assert scan.faces[0].box.x_min == 300 and scan.faces[0].box.y_max == 340


def test_threshold_is_strict(blank_rgb: np.ndarray) -> None:
    scan = pipeline(SMALL, MIDDLE).scan_image(blank_rgb, ScanOptions(det_prob_threshold=0.7))
    assert [face.box.probability for face in scan.faces] == [0.9]


def test_default_threshold_is_the_detectors_unless_overridden(blank_rgb: np.ndarray) -> None:
    faint = box(0, 0, 50, 50, 0.4)
    assert len(pipeline(faint, SMALL).scan_image(blank_rgb, ScanOptions()).faces) == 1
    assert len(pipeline(faint, SMALL, default_threshold=0.3).scan_image(blank_rgb, ScanOptions()).faces) == 2


@pytest.mark.parametrize("threshold", [1.0, 0.95])
def test_nothing_above_threshold_means_no_face(blank_rgb: np.ndarray, threshold: float) -> None:
    with pytest.raises(FacekeeperError) as caught:
        pipeline(SMALL).scan_image(blank_rgb, ScanOptions(det_prob_threshold=threshold))
    assert caught.value.error is Error.NO_FACES_FOUND


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan])
def test_threshold_outside_zero_one_is_reported_as_no_face(blank_rgb: np.ndarray, threshold: float) -> None:
    with pytest.raises(FacekeeperError) as caught:
        pipeline(SMALL).scan_image(blank_rgb, ScanOptions(det_prob_threshold=threshold))
    assert caught.value.error is Error.NO_FACES_FOUND


def test_no_detection_means_no_face(blank_rgb: np.ndarray) -> None:
    with pytest.raises(FacekeeperError) as caught:
        pipeline().scan_image(blank_rgb, ScanOptions())
    assert caught.value.error is Error.NO_FACES_FOUND


def test_limit_keeps_the_biggest_after_thresholding(blank_rgb: np.ndarray) -> None:
    faint_giant = box(0, 0, 600, 470, 0.1)
    scan = pipeline(SMALL, BIG, MIDDLE, faint_giant).scan_image(blank_rgb, ScanOptions(limit=2))
    assert [face.box.probability for face in scan.faces] == [0.6, 0.7]


def test_max_faces_caps_like_limit(blank_rgb: np.ndarray) -> None:
    scan = pipeline(SMALL, BIG, MIDDLE).scan_image(blank_rgb, ScanOptions(limit=0, max_faces=2))
    assert len(scan.faces) == 2


def test_boxes_are_clipped_and_rounded(blank_rgb: np.ndarray) -> None:
    scan = pipeline(box(-20.4, 10.6, 700.2, 500.9, 0.9)).scan_image(blank_rgb, ScanOptions())
    face = scan.faces[0]
    assert (face.box.x_min, face.box.y_min, face.box.x_max, face.box.y_max) == (0, 11, 640, 480)
    assert all(isinstance(value, int) for point in face.landmarks for value in point)


def test_big_images_are_detected_on_a_downscaled_copy() -> None:
    image = np.zeros((1000, 2000, 3), dtype=np.uint8)
    detector = FakeDetector([box(100, 50, 200, 150, 0.9)])
    scan = FacePipeline(detector, FakeEmbedder(), max_detect_size=640).scan_image(image, ScanOptions())
    assert detector.seen_shapes == [(320, 640, 3)]
    face = scan.faces[0]
    assert (face.box.x_min, face.box.y_min, face.box.x_max, face.box.y_max) == (312, 156, 625, 469)
    assert face.landmarks[2] == (469, 344)  # nose at (150, 110) in the copy, scaled by 3.125


def test_small_images_are_not_upscaled(blank_rgb: np.ndarray) -> None:
    detector = FakeDetector([SMALL])
    FacePipeline(detector, FakeEmbedder()).scan_image(blank_rgb, ScanOptions())
    assert detector.seen_shapes == [(480, 640, 3)]


def test_embedding_only_when_calculator_requested(blank_rgb: np.ndarray) -> None:
    plain = pipeline(SMALL).scan_image(blank_rgb, ScanOptions())
    assert plain.faces[0].embedding is None
    assert plain.plugins_versions == {"detector": "fake.FaceDetector@1"}
    assert set(plain.faces[0].execution_time_ms) == {"detector"}


def test_all_faces_are_embedded_in_one_batch(blank_rgb: np.ndarray) -> None:
    embedder = FakeEmbedder()
    detector = FakeDetector([SMALL, MIDDLE, BIG])
    options = ScanOptions(plugins=frozenset({"calculator", "landmarks"}))
    scan = FacePipeline(detector, embedder).scan_image(blank_rgb, options)
    assert [batch.shape for batch in embedder.batches] == [(3, 112, 112, 3)]
    assert all(face.embedding is not None and face.embedding.dtype == np.float32 for face in scan.faces)
    assert scan.plugins_versions == {"detector": "fake.FaceDetector@1", "calculator": "fake.Calculator@1"}
    assert set(scan.faces[0].execution_time_ms) == {"detector", "calculator"}


def test_detector_time_is_integer_divided_by_face_count(blank_rgb: np.ndarray) -> None:
    scan = pipeline(SMALL, MIDDLE, BIG).scan_image(blank_rgb, ScanOptions())
    times = {face.execution_time_ms["detector"] for face in scan.faces}
    assert len(times) == 1
    value = times.pop()
    assert isinstance(value, float) and value == int(value)


def test_plugins_run_by_slug_once_per_photo_and_unknown_slugs_are_ignored(blank_rgb: np.ndarray) -> None:
    blank_rgb[100:160, 100:160] = 200  # MIDDLE's face is brighter than SMALL's
    age, mask = FakePlugin("age"), FakePlugin("mask")
    options = ScanOptions(plugins=frozenset({"age", "landmarks2d106", "undefined"}))
    scan = pipeline(SMALL, MIDDLE, plugins=[age, mask]).scan_image(blank_rgb, options)
    assert age.batches == [2] and mask.batches == []  # both faces in one batch
    ages = [face.attributes["age"]["mean"] for face in scan.faces]
    assert ages[0] > ages[1]  # each face got its own value, in face order (MIDDLE is bigger)
    assert all(set(face.attributes) == {"age"} for face in scan.faces)
    assert scan.plugins_versions == {"detector": "fake.FaceDetector@1", "age": "fake.age@1"}
    assert all(set(face.execution_time_ms) == {"detector", "age"} for face in scan.faces)


def test_every_plugin_is_timed_and_versioned_whatever_its_slug(blank_rgb: np.ndarray) -> None:
    plugins = [FakePlugin("age"), FakePlugin("gender"), FakePlugin("mask", True), FakePlugin("emotion")]
    options = ScanOptions(plugins=frozenset({"calculator", "age", "gender", "mask", "emotion"}))
    scan = pipeline(SMALL, plugins=plugins).scan_image(blank_rgb, options)
    expected = {"detector", "calculator", "age", "gender", "mask", "emotion"}
    assert set(scan.plugins_versions) == expected
    assert set(scan.faces[0].execution_time_ms) == expected
    assert all(ms >= 0 for ms in scan.faces[0].execution_time_ms.values())


def test_a_plugin_answering_the_wrong_number_of_faces_is_an_error(blank_rgb: np.ndarray) -> None:
    class Broken(FakePlugin):
        def predict(self, faces):  # type: ignore[no-untyped-def]
            return []

    with pytest.raises(RuntimeError):
        pipeline(SMALL, plugins=[Broken("age")]).scan_image(blank_rgb, ScanOptions(plugins=frozenset({"age"})))


def test_without_detection_the_whole_image_is_one_face(blank_rgb: np.ndarray) -> None:
    detector, embedder = FakeDetector([]), FakeEmbedder()
    age, pose = FakePlugin("age"), FakePlugin("pose", needs_landmarks=True)
    options = ScanOptions(detect_faces=False, plugins=frozenset({"calculator", "age", "pose"}))
    scan = FacePipeline(detector, embedder, [age, pose]).scan_image(blank_rgb, options)
    assert detector.seen_shapes == []
    assert len(scan.faces) == 1
    face = scan.faces[0]
    assert (face.box.x_min, face.box.y_min, face.box.x_max, face.box.y_max, face.box.probability) == (
        0,
        0,
        640,
        480,
        1.0,
    )
    assert face.landmarks == []
    assert embedder.batches[0].shape == (1, 112, 112, 3)
    assert set(face.attributes) == {"age"} and pose.batches == []
    assert "pose" not in scan.plugins_versions


def test_scan_decodes_bytes_first() -> None:
    data = encode(Image.new("RGB", (64, 48), (10, 20, 30)), "PNG")
    scan = pipeline(box(5, 5, 40, 40, 0.9)).scan(data, ScanOptions())
    assert len(scan.faces) == 1


def test_load_loads_every_model_once() -> None:
    detector = FakeDetector([])
    faces = FacePipeline(detector, FakeEmbedder())
    faces.load()
    faces.load()
    assert detector.loads == 1


def test_plugins_run_in_an_idle_worker_while_the_embedder_runs(blank_rgb: np.ndarray) -> None:
    import threading

    from facekeeper.inference.pool import InferencePool

    class ThreadRecordingPlugin(FakePlugin):
        def predict(self, faces):  # type: ignore[no-untyped-def]
            self.thread = threading.current_thread().name
            return super().predict(faces)

    pool = InferencePool(2)
    age = ThreadRecordingPlugin("age")
    faces = FacePipeline(FakeDetector([SMALL, MIDDLE]), FakeEmbedder(), [age], beside=pool.beside)
    options = ScanOptions(plugins=frozenset({"calculator", "age"}))
    try:
        main_thread, scan = pool.submit(
            lambda: (threading.current_thread().name, faces.scan_image(blank_rgb, options))
        ).result()
        assert age.thread != main_thread and age.thread.startswith("inference")
        assert all("age" in face.attributes and "age" in face.execution_time_ms for face in scan.faces)
        assert scan.plugins_versions["age"] == "fake.age@1"
        # Both workers busy: the plugins run inline, in the request's own worker.
        blockers = [pool.submit(faces.scan_image, blank_rgb, options) for _ in range(2)]
        assert all(len(b.result().faces) == 2 for b in blockers)
    finally:
        pool.shutdown()


def test_beside_refuses_when_every_worker_is_busy() -> None:
    import threading

    from facekeeper.inference.pool import InferencePool

    pool = InferencePool(1)
    release = threading.Event()
    try:
        busy = pool.submit(release.wait)
        assert pool.beside(lambda: 1) is None
        release.set()
        busy.result()
        side = pool.beside(lambda: 2)
        assert side is not None and side.result() == 2
    finally:
        pool.shutdown()
