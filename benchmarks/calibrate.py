"""Calibrate the default detection threshold (D9) and the similarity coefficients (D8) on labelled photos.

Usage: PYTHONPATH=src python benchmarks/calibrate.py [FACES_DIR]
(FACES_DIR defaults to $FACEKEEPER_FACES, then ../shared/faces)

FACES_DIR holds one folder per identity, `_groups/` + `face_counts.json` (nose points of every face) and
`_nonface/`. The printed numbers are the ones pasted into models/yunet.py and models/sface.py.
"""

from __future__ import annotations

import json
import math
import os
import sys
from itertools import combinations
from pathlib import Path

import numpy as np

from facekeeper.domain import ScanOptions, SimilarityCoefficients, l2_normalize
from facekeeper.errors import FacekeeperError
from facekeeper.inference.base import Detection
from facekeeper.inference.images import decode_image
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.registry import build_pipeline
from facekeeper.settings import Settings

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
THRESHOLD_GRID = [round(0.05 * step, 2) for step in range(1, 20)]
# Keep the default this far below the weakest annotated face, so a re-encoded photo is not lost.
RECALL_MARGIN = 0.02
MAX_PIXELS = 200_000_000


def detection_scores(pipeline: FacePipeline, root: Path) -> tuple[list[float], list[float], list[float]]:
    """Best score per annotated face (0 if missed), stray boxes in those photos, boxes on non-faces."""
    annotations = json.loads((root / "face_counts.json").read_text())
    face_scores: list[float] = []
    stray_scores: list[float] = []
    for name, annotation in annotations.items():
        detections = candidates(pipeline, root / name)
        noses = annotation["nose_points"]
        face_scores += [max((d.probability for d in detections if contains(d, x, y)), default=0.0) for x, y in noses]
        stray_scores += [d.probability for d in detections if not any(contains(d, x, y) for x, y in noses)]
    nonface_scores = [
        d.probability
        for path in sorted((root / "_nonface").iterdir())
        if is_image(path)
        for d in candidates(pipeline, path)
    ]
    return face_scores, stray_scores, nonface_scores


def candidates(pipeline: FacePipeline, path: Path) -> list[Detection]:
    """Every detection the pipeline would consider, in original pixels (threshold 0)."""
    image = decode_image(path.read_bytes(), MAX_PIXELS)
    try:
        scan = pipeline.scan_image(image, ScanOptions(det_prob_threshold=0.0))
    except FacekeeperError:
        return []
    return [
        Detection(f.box.x_min, f.box.y_min, f.box.x_max, f.box.y_max, f.box.probability, np.zeros((5, 2)))
        for f in scan.faces
    ]


def contains(detection: Detection, x: float, y: float) -> bool:
    return detection.x_min <= x <= detection.x_max and detection.y_min <= y <= detection.y_max


def choose_threshold(face_scores: list[float], nonface_scores: list[float]) -> float:
    """The highest grid value that still finds every annotated face (with a margin) and no non-face."""
    ceiling = min(face_scores) - RECALL_MARGIN
    floor = max(nonface_scores, default=0.0)
    allowed = [t for t in THRESHOLD_GRID if floor <= t < ceiling]
    if not allowed:
        raise SystemExit(f"no threshold separates faces (min {min(face_scores):.3f}) from non-faces ({floor:.3f})")
    return max(allowed)


def identity_embeddings(pipeline: FacePipeline, root: Path, threshold: float) -> dict[str, list[np.ndarray]]:
    """One L2-normalised embedding per identity photo: the biggest face."""
    options = ScanOptions(limit=1, det_prob_threshold=threshold, plugins=frozenset({"calculator"}))
    people: dict[str, list[np.ndarray]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for path in sorted(p for p in folder.iterdir() if is_image(p)):
            try:
                face = pipeline.scan_image(decode_image(path.read_bytes(), MAX_PIXELS), options).faces[0]
            except FacekeeperError:
                print(f"  no face: {path.relative_to(root)}")
                continue
            assert face.embedding is not None
            people.setdefault(folder.name, []).append(l2_normalize(face.embedding))
    return people


def pair_distances(people: dict[str, list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    genuine = [float(np.linalg.norm(a - b)) for vs in people.values() for a, b in combinations(vs, 2)]
    impostor = [
        float(np.linalg.norm(a - b)) for (_, vs), (_, ws) in combinations(people.items(), 2) for a in vs for b in ws
    ]
    return np.array(genuine), np.array(impostor)


def fit_coefficients(genuine: np.ndarray, impostor: np.ndarray, ridge: float = 1e-3) -> SimilarityCoefficients:
    """Class-balanced logistic regression of "same person" on d; (tanh(x)+1)/2 = sigmoid(2x) gives (c0, c1).

    sigmoid(a - b*d) = (tanh((c0 - d) * c1) + 1) / 2 with c1 = b / 2 and c0 = a / b. The small ridge keeps
    the slope finite if the pairs happen to be perfectly separable.
    """
    distances = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones_like(genuine), np.zeros_like(impostor)])
    weights = np.concatenate([np.full_like(genuine, 0.5 / len(genuine)), np.full_like(impostor, 0.5 / len(impostor))])
    features = np.stack([np.ones_like(distances), -distances], axis=1)
    params = np.zeros(2)
    for _ in range(100):  # Newton-Raphson (IRLS)
        probability = 1 / (1 + np.exp(-(features @ params)))
        gradient = features.T @ (weights * (probability - labels)) + ridge * np.array([0.0, params[1]])
        hessian = (features * (weights * probability * (1 - probability))[:, None]).T @ features
        hessian += ridge * np.diag([0.0, 1.0])
        step = np.linalg.solve(hessian, gradient)
        params -= step
        if np.abs(step).max() < 1e-10:
            break
    a, b = params
    return SimilarityCoefficients(c0=float(a / b), c1=float(b / 2))


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else os.environ.get("FACEKEEPER_FACES", "../shared/faces"))
    settings = Settings()
    pipeline = build_pipeline(settings)

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
    threshold = choose_threshold(face_scores, nonface_scores)
    print(f"chosen default_threshold = {threshold}")

    print(f"\n== Similarity coefficients (D8), {pipeline.embedder.version}")
    people = identity_embeddings(pipeline, root, threshold)
    genuine, impostor = pair_distances(people)
    coefficients = fit_coefficients(genuine, impostor)
    far = float(np.mean(coefficients.similarities(impostor) > 0.5))
    frr = float(np.mean(coefficients.similarities(genuine) <= 0.5))
    d_prime = abs(impostor.mean() - genuine.mean()) / math.sqrt((genuine.var() + impostor.var()) / 2)
    print(f"identities {len(people)}, photos {sum(map(len, people.values()))}")
    print(
        f"genuine pairs {len(genuine)} (mean d {genuine.mean():.4f}), "
        f"impostor pairs {len(impostor)} (mean d {impostor.mean():.4f})"
    )
    print(f"c0 = {coefficients.c0:.6f}, c1 = {coefficients.c1:.6f}")
    print(
        f"at similarity 0.5: FAR {far:.4%} ({round(far * len(impostor))}), FRR {frr:.4%} ({round(frr * len(genuine))})"
    )
    print(f"d' = {d_prime:.2f}")


if __name__ == "__main__":
    main(sys.argv)
