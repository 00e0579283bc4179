"""Per-stage timings on this machine: YuNet at 640x480, SFace per face, and full scans.

Usage: PYTHONPATH=src python benchmarks/speed.py [FACES_DIR] ; FACEKEEPER_ONNX_THREADS sets the threads.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facekeeper.domain import ScanOptions
from facekeeper.inference.images import decode_image
from facekeeper.inference.registry import build_pipeline
from facekeeper.settings import Settings

PORTRAIT = "obama/ageitgey__examples_obama.jpg"
GROUP = "_groups/exadel-inc__embedding-calculator_sample_images_015_6.jpg"


def median_ms(action: Callable[[], object], repeats: int = 20) -> float:
    action()  # warm-up: first runs allocate and pick kernels
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.median(timings))


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else os.environ.get("FACEKEEPER_FACES", "../shared/faces"))
    settings = Settings()
    pipeline = build_pipeline(settings)
    detector, embedder = pipeline.detector, pipeline.embedder
    pipeline.load()
    calculator = ScanOptions(plugins=frozenset({"calculator"}))

    portrait = cv2.resize(decode_image((root / PORTRAIT).read_bytes(), 10**8), (640, 480))
    group = decode_image((root / GROUP).read_bytes(), 10**8)
    crops = np.random.default_rng(0).integers(0, 255, (8, 112, 112, 3), dtype=np.uint8)
    group_faces = len(pipeline.scan_image(group, calculator).faces)
    portrait_jpeg = cv2.imencode(".jpg", portrait[:, :, ::-1])[1].tobytes()

    print(f"onnx_threads={settings.onnx_threads}")
    print(f"YuNet 640x480: {median_ms(lambda: detector.detect(portrait)):.1f} ms")
    print(f"SFace, 1 face: {median_ms(lambda: embedder.embed(crops[:1])):.1f} ms")
    print(f"SFace, batch of 8: {median_ms(lambda: embedder.embed(crops)) / 8:.1f} ms per face")
    portrait_ms = median_ms(lambda: pipeline.scan(portrait_jpeg, calculator))
    print(f"scan 640x480 JPEG, 1 face (decode+detect+embed): {portrait_ms:.1f} ms")
    print(
        f"scan group photo {group.shape[1]}x{group.shape[0]}, {group_faces} faces (detect+embed): "
        f"{median_ms(lambda: pipeline.scan_image(group, calculator)):.1f} ms"
    )


if __name__ == "__main__":
    main(sys.argv)
