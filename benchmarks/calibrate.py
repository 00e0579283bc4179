"""Calibrate the default detection threshold (D9) and every shipped embedder's similarity coefficients (D8).

Usage: make calibrate
   or: .venv/bin/python benchmarks/calibrate.py [--faces DIR] [--calibration DIR] [--cache DIR]

- Detector threshold: on FACES (default $FACEKEEPER_FACES, then ../shared/faces): one folder per identity,
  `_groups/` + `face_counts.json` (nose points of every face) and `_nonface/`.
- Similarity coefficients, per embedder: fitted on the calibration set (default ../shared/calibration/lfw-dev,
  harder news photos; read its README) together with the identity photos of FACES. Similarity 0.5 is put at
  the distance with the best balanced accuracy among those with at most 0.5 % false accepts; the slope c1 is
  the class-balanced logistic fit with that centre. Printed: c0, c1, FAR and FRR at similarity 0.5 and 0.6
  per embedder and per set. These are CALIBRATION figures (fitted on this data), never accuracy.

Each photo is embedded once per base model (SFace, dlib), straight and mirrored; the flip-averaged and fused
embedders are then built by the real composite classes (`inference/models/composite.py`) from those
vectors, and a few photos are checked against the full pipeline. Base embeddings are cached outside the
repository (default ~/.cache/facekeeper/calibration), so a re-run takes seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.recognition_quality import (  # noqa: E402
    BALANCED_ACCURACY_SLACK,
    MAX_FAR_AT_HALF,
    SHIPPED_EMBEDDERS,
    LabelledSet,
    Pairs,
    calibration_row,
    check_against_pipeline,
    choose_threshold,
    detection_scores,
    embed_set,
    image_files,
    pair_distances,
    print_table,
    variant_vectors,
)

from facekeeper.inference.pipeline import FacePipeline  # noqa: E402
from facekeeper.inference.registry import build_pipeline  # noqa: E402
from facekeeper.settings import Settings  # noqa: E402


def detector_section(pipeline: FacePipeline, root: Path) -> None:
    print(f"== Detector threshold (D9), {pipeline.detector.version}, max_detect_size {pipeline.max_detect_size}")
    face_scores, stray_scores, nonface_scores = detection_scores(pipeline, root)
    print(
        f"annotated faces {len(face_scores)}, weakest {min(face_scores):.4f}; "
        f"best non-face {max(nonface_scores, default=0):.4f}"
    )
    for threshold in (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        recall = np.mean(np.array(face_scores) > threshold)
        strays = sum(s > threshold for s in stray_scores)
        nonfaces = sum(s > threshold for s in nonface_scores)
        print(
            f"  threshold {threshold:.2f}: recall {recall:.2%}, "
            f"extra boxes in group photos {strays}, on non-faces {nonfaces}"
        )
    print(f"chosen default_threshold = {choose_threshold(face_scores, nonface_scores)}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, default=Path(os.environ.get("FACEKEEPER_FACES", "../shared/faces")))
    parser.add_argument("--calibration", type=Path, default=Path("../shared/calibration/lfw-dev"))
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facekeeper" / "calibration")
    parser.add_argument("--skip-detector", action="store_true", help="only the similarity coefficients")
    args = parser.parse_args(argv[1:])
    settings = Settings(plugins="")
    pipeline = build_pipeline(settings)
    if not args.faces.is_dir():
        raise SystemExit(f"{args.faces} is not a folder of labelled faces (see ../shared/faces/README.md)")
    if not args.skip_detector:
        detector_section(pipeline, args.faces)

    print("\n== Similarity coefficients (D8): calibration figures, fitted on these photos (not accuracy)")
    started = time.perf_counter()
    sets: list[tuple[LabelledSet, list[tuple[str, Path]], bool]] = []
    if args.calibration.is_dir():
        files = image_files(args.calibration)
        sets.append((embed_set("lfw-dev", files, pipeline, True, args.cache), files, True))
    else:
        print(f"  {args.calibration} is missing: fitting on {args.faces} alone")
    files = image_files(args.faces)
    sets.append((embed_set("faces", files, pipeline, False, args.cache), files, False))
    pairs: dict[str, dict[str, Pairs]] = {name: {} for name in SHIPPED_EMBEDDERS}
    worst = 0.0
    for data, files, centred in sets:
        vectors = variant_vectors(data, pipeline, settings)
        worst = max(worst, check_against_pipeline(files, data, pipeline, vectors, centred))
        for name in SHIPPED_EMBEDDERS:
            genuine, impostor = pair_distances(vectors[name], data.labels)
            pairs[name][data.name] = Pairs(genuine, impostor)
    counts = {
        data.name: (len(pairs["sface"][data.name].genuine), len(pairs["sface"][data.name].impostor))
        for data, _, _ in sets
    }
    print("  pairs: " + ", ".join(f"{name} {g:,} genuine / {i:,} impostor" for name, (g, i) in counts.items()))
    print(f"  cached vectors vs full pipeline on a few photos: largest 1 - cosine {worst:.2e}")
    rows = {
        name: calibration_row(name, pairs[name], pipeline.embedder_for(name).coefficients) for name in SHIPPED_EMBEDDERS
    }
    print()
    print_table(rows, [data.name for data, _, _ in sets])
    print("\ncoefficients in code now:")
    for name in SHIPPED_EMBEDDERS:
        current = pipeline.embedder_for(name).coefficients
        row = rows[name]
        now = row["current_bal_acc_at_0.5"]
        print(f"  {name:<16} c0 {current.c0:.6f} c1 {current.c1:.4f}; bal.acc@0.5 with them {now:.3%}")
    ok = all(
        row["far@0.5"] <= MAX_FAR_AT_HALF and row["best_bal_acc"] - row["bal_acc_at_0.5"] <= BALANCED_ACCURACY_SLACK
        for row in rows.values()
    )
    print(f"\ntargets (FAR@0.5 <= 0.5 %, bal.acc@0.5 within 0.3 points of best): {'met' if ok else 'NOT met'}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main(sys.argv)
