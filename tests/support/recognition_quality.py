"""Measuring recognition on labelled photos, shared by benchmarks/calibrate.py, benchmarks/accuracy.py and the
tests that check their output: detection scores, each shipped embedder's vectors (cached on disk), pair
distances, the fit of the similarity coefficients and the calibration table.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facekeeper.domain import ScanOptions, SimilarityCoefficients, l2_normalize
from facekeeper.errors import FacekeeperError
from facekeeper.inference.base import Detection, Embedder, embed_faces
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.images import decode_image
from facekeeper.inference.models import composite
from facekeeper.inference.models.composite import MirroredCrops
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.registry import ModelRegistry
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


SHIPPED_EMBEDDERS = ("sface", "dlib", "sface+dlib", "sface-flip", "dlib-flip", "sface+dlib-flip")
BASE_EMBEDDERS = ("sface", "dlib")
MAX_FAR_AT_HALF = 0.005  # false accepts allowed at similarity 0.5
BALANCED_ACCURACY_SLACK = 0.003  # at 0.5, within 0.3 points of the best threshold's
# The detection threshold is lowered for photos where nothing passes the default: every photo is a face.
FALLBACK_THRESHOLDS = (None, 0.5, 0.2)


@dataclass
class LabelledSet:
    """Photos of one set: identity labels and each base model's vectors, straight and mirrored."""

    name: str
    labels: list[str]
    straight: dict[str, np.ndarray]  # base embedder -> (N, d), L2-normalised
    mirrored: dict[str, np.ndarray]


def image_files(root: Path) -> list[tuple[str, Path]]:
    """(identity, photo) for every photo in an identity folder (folders starting with `_` are not people)."""
    return [
        (folder.name, path)
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
        for path in sorted(folder.iterdir())
        if is_image(path)
    ]


def main_face(pipeline: FacePipeline, image: np.ndarray, centred: bool) -> np.ndarray | None:
    """Landmarks of the photo's subject: the face nearest the centre (LFW photos are centred on their
    person), or the biggest one; None when no face is found even at a low threshold."""
    for threshold in FALLBACK_THRESHOLDS:
        try:
            found = pipeline.detections(image, ScanOptions(det_prob_threshold=threshold))
        except FacekeeperError:
            continue
        if centred:
            height, width = image.shape[:2]
            found.sort(key=lambda d: (d.x_min + d.x_max - width) ** 2 + (d.y_min + d.y_max - height) ** 2)
        return np.asarray(found[0].landmarks, dtype=np.float32)
    return None


def embed_set(
    name: str, files: list[tuple[str, Path]], pipeline: FacePipeline, centred: bool, cache_dir: Path
) -> LabelledSet:
    """Base vectors of every photo, from the cache when the same models already embedded the same file."""
    bases = {base: pipeline.embedder_for(base) for base in BASE_EMBEDDERS}
    key = hashlib.sha256(
        json.dumps([pipeline.detector.version, *(b.version for b in bases.values()), centred]).encode()
    ).hexdigest()[:16]
    cache_path = cache_dir / f"{name}-{key}.npz"
    cached: dict[str, np.ndarray] = dict(np.load(cache_path)) if cache_path.exists() else {}
    labels: list[str] = []
    straight: dict[str, list[np.ndarray]] = {base: [] for base in bases}
    mirrored: dict[str, list[np.ndarray]] = {base: [] for base in bases}
    fresh = missing = 0
    for label, path in files:
        stat = path.stat()
        file_key = f"{path.parent.name}/{path.name}:{stat.st_size}"
        if f"{file_key}|none" in cached:
            missing += 1
            continue
        if f"{file_key}|sface|0" not in cached:
            image = decode_image(path.read_bytes(), MAX_PIXELS)
            landmarks = main_face(pipeline, image, centred)
            if landmarks is None:
                cached[f"{file_key}|none"] = np.zeros(1)
                missing += 1
                continue
            crops = FaceCrops(image, [landmarks])
            for base, embedder in bases.items():
                embedder.load()
                cached[f"{file_key}|{base}|0"] = l2_normalize(embed_faces(embedder, crops))[0]
                cached[f"{file_key}|{base}|1"] = l2_normalize(embed_faces(embedder, MirroredCrops(crops)))[0]
            fresh += 1
        labels.append(label)
        for base in bases:
            straight[base].append(cached[f"{file_key}|{base}|0"])
            mirrored[base].append(cached[f"{file_key}|{base}|1"])
    if fresh or not cache_path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(cache_path, **cached)  # type: ignore[arg-type]
    print(
        f"  {name}: {len(labels)} photos of {len(set(labels))} people ({fresh} embedded now, {missing} without a face)"
    )
    return LabelledSet(
        name,
        labels,
        {b: np.stack(v) for b, v in straight.items()},
        {b: np.stack(v) for b, v in mirrored.items()},
    )


class _Replayed:
    """A base embedder that answers with vectors already computed (straight, or for a MirroredCrops the
    mirrored ones): the composite embedders are then the real classes, fed from the cache."""

    def __init__(self, real: Embedder, straight: np.ndarray, mirrored: np.ndarray) -> None:
        self.version = real.version
        self.dimension = real.dimension
        self.coefficients = real.coefficients
        self.crops: tuple[CropSpec, ...] = ()
        self.straight = straight
        self.mirrored = mirrored

    def load(self) -> None:
        pass

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        return self.mirrored if isinstance(faces, MirroredCrops) else self.straight


def _same(stub: _Replayed, _settings: Settings) -> Embedder:
    return stub


def variant_vectors(data: LabelledSet, pipeline: FacePipeline, settings: Settings) -> dict[str, np.ndarray]:
    """Every shipped embedder's L2-normalised vectors for the set, built by the real composite classes."""
    replay = ModelRegistry()
    for base in BASE_EMBEDDERS:
        stub = _Replayed(pipeline.embedder_for(base), data.straight[base], data.mirrored[base])
        replay.add_embedder(base, functools.partial(_same, stub))
    composite.register(replay)
    whole_set = FaceCrops(np.zeros((1, 1, 3), np.uint8), [np.zeros((5, 2), np.float32)] * len(data.labels))
    return {
        name: l2_normalize(embed_faces(replay.build_embedder(name, settings), whole_set)) for name in SHIPPED_EMBEDDERS
    }


def check_against_pipeline(
    files: list[tuple[str, Path]],
    data: LabelledSet,
    pipeline: FacePipeline,
    vectors: dict[str, np.ndarray],
    centred: bool,
) -> float:
    """Largest 1 - cosine between the cached/derived vectors and the full pipeline's, on a few photos."""
    worst = 0.0
    index = 0
    for _, path in files[:4]:
        image = decode_image(path.read_bytes(), MAX_PIXELS)
        landmarks = main_face(pipeline, image, centred)
        if landmarks is None:
            continue
        crops = FaceCrops(image, [landmarks])
        for name in SHIPPED_EMBEDDERS:
            direct = l2_normalize(embed_faces(pipeline.embedder_for(name), crops))[0]
            worst = max(worst, 1.0 - float(direct @ vectors[name][index]))
        index += 1
    return worst


def pair_distances(vectors: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances of every genuine pair and every impostor pair (unit vectors)."""
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    cosines = vectors @ vectors.T
    upper = np.triu(np.ones(cosines.shape, dtype=bool), k=1)
    same = codes[:, None] == codes[None, :]
    distances = np.sqrt(np.clip(2.0 - 2.0 * cosines, 0.0, None))
    return distances[upper & same], distances[upper & ~same]


@dataclass
class Pairs:
    genuine: np.ndarray
    impostor: np.ndarray

    def far_frr(self, coefficients: SimilarityCoefficients, similarity: float) -> tuple[float, float]:
        """Impostor pairs at or above `similarity`, genuine pairs below it (CompreFace clients accept >=)."""
        far = float(np.mean(coefficients.similarities(self.impostor) >= similarity))
        frr = float(np.mean(coefficients.similarities(self.genuine) < similarity))
        return far, frr

    def __post_init__(self) -> None:
        self._genuine_sorted = np.sort(self.genuine)
        self._impostor_sorted = np.sort(self.impostor)

    def balanced_accuracies(self, thresholds: np.ndarray) -> np.ndarray:
        """Mean of the genuine accept and impostor reject rates at each distance threshold (accept d <= t)."""
        accepted = np.searchsorted(self._genuine_sorted, thresholds, side="right") / len(self.genuine)
        rejected = 1.0 - np.searchsorted(self._impostor_sorted, thresholds, side="right") / len(self.impostor)
        return np.asarray((accepted + rejected) / 2)

    def balanced_accuracy(self, threshold: float) -> float:
        return float(self.balanced_accuracies(np.asarray([threshold]))[0])

    def best_threshold(self) -> tuple[float, float]:
        """The distance threshold with the best balanced accuracy (every genuine distance is a candidate)."""
        candidates = np.unique(self.genuine)
        scores = self.balanced_accuracies(candidates)
        best = int(np.argmax(scores))
        return float(candidates[best]), float(scores[best])


def choose_centre(pairs: Pairs) -> float:
    """The distance with the best balanced accuracy among those letting at most MAX_FAR_AT_HALF of the
    impostor pairs through."""
    limit = float(np.quantile(pairs.impostor, MAX_FAR_AT_HALF))
    allowed = pairs.genuine[pairs.genuine < limit]
    candidates = np.unique(np.concatenate([allowed, [limit * 0.999999]]))
    return float(candidates[int(np.argmax(pairs.balanced_accuracies(candidates)))])


def fit_slope(pairs: Pairs, c0: float) -> float:
    """c1 of the class-balanced logistic fit of "same person" on (c0 - d): sigmoid(2 * c1 * (c0 - d))."""
    x = np.concatenate([c0 - pairs.genuine, c0 - pairs.impostor])
    y = np.concatenate([np.ones_like(pairs.genuine), np.zeros_like(pairs.impostor)])
    w = np.concatenate(
        [np.full_like(pairs.genuine, 0.5 / len(pairs.genuine)), np.full_like(pairs.impostor, 0.5 / len(pairs.impostor))]
    )
    slope = 1.0
    for _ in range(100):  # Newton on one parameter
        p = 1 / (1 + np.exp(-slope * x))
        gradient = float(np.sum(w * (p - y) * x))
        hessian = float(np.sum(w * p * (1 - p) * x * x)) + 1e-9
        step = gradient / hessian
        slope -= step
        if abs(step) < 1e-10:
            break
    return slope / 2


def merge(parts: list[Pairs]) -> Pairs:
    return Pairs(np.concatenate([p.genuine for p in parts]), np.concatenate([p.impostor for p in parts]))


def calibration_row(name: str, pairs_by_set: dict[str, Pairs], current: SimilarityCoefficients) -> dict[str, float]:
    """The fitted coefficients and what they give on the sets together."""
    both = merge(list(pairs_by_set.values()))
    c0 = choose_centre(both)
    fitted = SimilarityCoefficients(c0=float(c0), c1=float(fit_slope(both, c0)))
    best_t, best_acc = both.best_threshold()
    row = {
        "c0": fitted.c0,
        "c1": fitted.c1,
        "best_threshold": best_t,
        "best_bal_acc": best_acc,
        "bal_acc_at_0.5": both.balanced_accuracy(fitted.c0),
        "current_bal_acc_at_0.5": both.balanced_accuracy(current.c0),
    }
    for similarity in (0.5, 0.6):
        row[f"far@{similarity}"], row[f"frr@{similarity}"] = both.far_frr(fitted, similarity)
        for set_name, pairs in pairs_by_set.items():
            row[f"{set_name}.far@{similarity}"], row[f"{set_name}.frr@{similarity}"] = pairs.far_frr(fitted, similarity)
    return row


def print_table(rows: dict[str, dict[str, float]], set_names: list[str]) -> None:
    """One line per embedder; `benchmarks/calibrate.py` output is parsed by tests (keep the layout)."""
    print("embedder          c0        c1        FAR@0.5  FRR@0.5  FAR@0.6  FRR@0.6  bal.acc@0.5  best (at d)")
    for name, row in rows.items():
        print(
            f"{name:<16}  {row['c0']:.6f}  {row['c1']:8.4f}  {row['far@0.5']:7.3%}  {row['frr@0.5']:7.3%}  "
            f"{row['far@0.6']:7.3%}  {row['frr@0.6']:7.3%}  {row['bal_acc_at_0.5']:10.3%}  "
            f"{row['best_bal_acc']:.3%} ({row['best_threshold']:.4f})"
        )
    for set_name in set_names:
        print(f"\n  {set_name} alone (same coefficients):")
        print("  embedder          FAR@0.5  FRR@0.5  FAR@0.6  FRR@0.6")
        for name, row in rows.items():
            print(
                f"  {name:<16}  {row[f'{set_name}.far@0.5']:7.3%}  {row[f'{set_name}.frr@0.5']:7.3%}  "
                f"{row[f'{set_name}.far@0.6']:7.3%}  {row[f'{set_name}.frr@0.6']:7.3%}"
            )


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def roc_auc(genuine_scores: np.ndarray, impostor_scores: np.ndarray) -> float:
    """Probability that a genuine pair scores above an impostor pair (ties count half): Mann-Whitney U."""
    scores = np.concatenate([genuine_scores, impostor_scores])
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # 1-based, tied scores share their mean rank
    n_g, n_i = len(genuine_scores), len(impostor_scores)
    return float((ranks[:n_g].sum() - n_g * (n_g + 1) / 2) / (n_g * n_i))


def tar_at_far(genuine_scores: np.ndarray, impostor_scores: np.ndarray, far: float) -> float:
    """Genuine pairs accepted at the lowest score threshold letting at most `far` of impostors through."""
    ranked = np.sort(impostor_scores)[::-1]
    allowed = int(np.floor(far * len(ranked)))
    threshold = ranked[allowed] if allowed < len(ranked) else -np.inf
    return float(np.mean(genuine_scores > threshold))


def rank_one(vectors: np.ndarray, labels: list[str]) -> float:
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    counts = np.bincount(codes)
    probes = counts[codes] >= 2
    nearest = similarity.argmax(axis=1)
    return float(np.mean(codes[nearest][probes] == codes[probes]))
