"""Recognition quality of every shipped embedder, side by side, on the labelled photos of ../shared/faces.

Usage: .venv/bin/python benchmarks/accuracy.py [--faces DIR] [--cache DIR]

Per embedder, over every pair of identity photos (genuine: same person; impostor: two people):
- ROC AUC and TAR (genuine pairs accepted) at FAR 1e-2 and 1e-3, from the similarity ranking alone;
- balanced accuracy ((TAR + TRR) / 2, the pairs being mostly impostors) at CompreFace similarity 0.5 with the
  embedder's coefficients, and at the best threshold for this set;
- rank-1: each photo's nearest other photo shows the same person (people with at least two photos);
- ms per face: the embedder alone on one aligned face (median, one onnxruntime thread, this machine).
Then, for the pipeline (the same whatever the embedder): detection recall on the annotated group photos at
the detector's default threshold, gender accuracy, and the mask false-positive rate on unmasked photos.

The coefficients were fitted on lfw-dev together with these photos (benchmarks/calibrate.py), so the
accuracy at 0.5 is not independent of them; AUC, TAR and rank-1 do not depend on the coefficients.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.plugin_quality import gender_accuracy, mask_rates, plugin_pipeline  # noqa: E402
from tests.support.recognition_quality import (  # noqa: E402
    SHIPPED_EMBEDDERS,
    Pairs,
    detection_scores,
    embed_set,
    image_files,
    main_face,
    pair_distances,
    rank_one,
    roc_auc,
    tar_at_far,
    variant_vectors,
)

from facekeeper.inference.base import embed_faces  # noqa: E402
from facekeeper.inference.crops import FaceCrops  # noqa: E402
from facekeeper.inference.images import decode_image  # noqa: E402
from facekeeper.inference.pipeline import FacePipeline  # noqa: E402
from facekeeper.inference.registry import build_pipeline  # noqa: E402
from facekeeper.settings import Settings  # noqa: E402

TIMED_FACES = 12
TIMING_REPEATS = 5


def ms_per_face(pipeline: FacePipeline, files: list[tuple[str, Path]]) -> dict[str, float]:
    """Median ms of each embedder on one aligned face (crops cut beforehand, models loaded)."""
    faces = []
    for _, path in files[:: max(1, len(files) // TIMED_FACES)][:TIMED_FACES]:
        image = decode_image(path.read_bytes(), 10**9)
        landmarks = main_face(pipeline, image, centred=False)
        if landmarks is not None:
            faces.append(FaceCrops(image, [landmarks]))
    timings: dict[str, float] = {}
    for name in SHIPPED_EMBEDDERS:
        embedder = pipeline.embedder_for(name)
        embedder.load()
        embed_faces(embedder, faces[0])  # warm-up
        samples = []
        for _ in range(TIMING_REPEATS):
            for crops in faces:
                fresh = FaceCrops(crops.image_rgb, crops.landmarks)  # crops cut inside the timing, as in a request
                started = time.perf_counter()
                embed_faces(embedder, fresh)
                samples.append((time.perf_counter() - started) * 1000)
        timings[name] = statistics.median(samples)
    return timings


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--faces", type=Path, default=Path("../shared/faces"))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facekeeper" / "calibration")
    args = parser.parse_args(argv[1:])
    if not args.faces.is_dir():
        raise SystemExit(f"{args.faces} is missing: this benchmark needs the labelled photos of ../shared/faces")
    settings = Settings(plugins="")
    pipeline = build_pipeline(settings)
    files = image_files(args.faces)
    print(f"== Recognition on {args.faces} (every pair of identity photos)")
    data = embed_set("faces", files, pipeline, False, args.cache)
    vectors = variant_vectors(data, pipeline, settings)
    rows: dict[str, dict[str, float]] = {}
    for name in SHIPPED_EMBEDDERS:
        genuine, impostor = pair_distances(vectors[name], data.labels)
        pairs = Pairs(genuine, impostor)
        coefficients = pipeline.embedder_for(name).coefficients
        best_threshold, best = pairs.best_threshold()
        rows[name] = {
            "ROC AUC": roc_auc(-genuine, -impostor),
            "TAR @ FAR 1e-2": tar_at_far(-genuine, -impostor, 1e-2),
            "TAR @ FAR 1e-3": tar_at_far(-genuine, -impostor, 1e-3),
            "bal. accuracy @ 0.5": pairs.balanced_accuracy(coefficients.c0),
            "bal. accuracy, best": best,
            "best similarity": coefficients.similarity(best_threshold),
            "rank-1": rank_one(vectors[name], data.labels),
        }
    print(f"  pairs: {len(genuine):,} genuine, {len(impostor):,} impostor; photos {len(data.labels)}")
    timings = ms_per_face(pipeline, files)
    width = max(len(name) for name in SHIPPED_EMBEDDERS) + 2
    print(f"\n{'':<22}" + "".join(f"{name:>{width}}" for name in SHIPPED_EMBEDDERS))
    for metric in rows["sface"]:
        cells = []
        for name in SHIPPED_EMBEDDERS:
            value = rows[name][metric]
            cells.append(f"{value:>{width}.4f}" if metric in ("ROC AUC", "best similarity") else f"{value:>{width}.2%}")
        print(f"{metric:<22}" + "".join(cells))
    print(f"{'ms per face':<22}" + "".join(f"{timings[name]:>{width}.1f}" for name in SHIPPED_EMBEDDERS))

    print("\n== Pipeline (the same for every embedder)")
    face_scores, _, _ = detection_scores(pipeline, args.faces)
    threshold = pipeline.default_threshold
    recall = float(np.mean(np.asarray(face_scores) > threshold))
    print(f"detection recall on annotated group photos at {threshold}: {recall:.2%} of {len(face_scores)} faces")
    with tempfile.TemporaryDirectory() as data_dir:
        plugins = plugin_pipeline(Path(data_dir))
        gender = gender_accuracy(plugins, args.faces)
        masks = mask_rates(plugins, args.faces)
    print(f"gender accuracy: {gender.percent:.1f} % ({gender.hits}/{gender.total})")
    false_positives = masks.false_positives
    print(
        f"mask false positives on unmasked photos: {false_positives.percent:.1f} % "
        f"({false_positives.hits}/{false_positives.total})"
    )


if __name__ == "__main__":
    main(sys.argv)
