"""Face plugin quality measured on labelled photos, shared by the golden tests and benchmarks/plugin_quality.py.

`gender_accuracy`, `mask_rates` and `pose_flip_errors` take a pipeline with the plugins enabled (see
`plugin_pipeline`). Masks are drawn over the lower face of each unmasked photo (`masks.py`), so the mask hit
rate is on drawn masks only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facekeeper.domain import ScanOptions
from facekeeper.inference.images import decode_image
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.registry import build_pipeline
from facekeeper.settings import Settings
from tests.support.masks import draw_mask

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
MAX_PIXELS = 10**9
# Identities of ../shared/faces whose photos show a woman (the others show men); compreface_A and _B are the
# CompreFace sample photos of two women, compreface_C of a man.
FEMALE = frozenset({"amy_adams", "angelina_jolie", "jennifer_aniston", "compreface_A", "compreface_B"})
PLUGINS = ("age", "gender", "mask", "pose")


def identity_photos(root: Path) -> Iterator[tuple[str, Path]]:
    """(identity, photo) for every photo of the one-person folders, in a stable order."""
    for folder in sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("_")):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                yield folder.name, path


def plugin_pipeline(data_dir: Path, **settings: object) -> FacePipeline:
    """The default pipeline with every shipped plugin; converted mask models are cached under `data_dir`."""
    pipeline = build_pipeline(Settings(data_dir=data_dir, plugins=",".join(PLUGINS), **settings))  # type: ignore[arg-type]
    pipeline.load()
    return pipeline


def _biggest_face(pipeline: FacePipeline, image: np.ndarray, plugins: frozenset[str]) -> dict[str, object]:
    return pipeline.scan_image(image, ScanOptions(limit=1, plugins=plugins)).faces[0].attributes


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int
    misses: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.hits / self.total if self.total else float("nan")


def gender_accuracy(pipeline: FacePipeline, root: Path) -> Rate:
    """Share of identity photos whose biggest face gets the identity's gender."""
    right, wrong = 0, []
    for person, path in identity_photos(root):
        gender = _biggest_face(pipeline, decode_image(path.read_bytes(), MAX_PIXELS), frozenset({"gender"}))["gender"]
        expected = "female" if person in FEMALE else "male"
        if gender.value == expected:  # type: ignore[attr-defined]
            right += 1
        else:
            wrong.append(path.name)
    return Rate(right, right + len(wrong), tuple(wrong))


@dataclass(frozen=True)
class MaskRates:
    false_positives: Rate  # "with_mask" on the unmasked photos
    drawn_hits: Rate  # "with_mask" on the same photos with a mask drawn on


def mask_rates(pipeline: FacePipeline, root: Path) -> MaskRates:
    plain_hits, drawn_hits, plain_wrong, drawn_wrong, total = 0, 0, [], [], 0
    for _, path in identity_photos(root):
        image = decode_image(path.read_bytes(), MAX_PIXELS)
        detection = pipeline.detections(image, ScanOptions(limit=1))[0]
        total += 1
        if _biggest_face(pipeline, image, frozenset({"mask"}))["mask"].value == "with_mask":  # type: ignore[attr-defined]
            plain_hits += 1
            plain_wrong.append(path.name)
        masked = draw_mask(image, detection.landmarks)
        if _biggest_face(pipeline, masked, frozenset({"mask"}))["mask"].value == "with_mask":  # type: ignore[attr-defined]
            drawn_hits += 1
        else:
            drawn_wrong.append(path.name)
    return MaskRates(Rate(plain_hits, total, tuple(plain_wrong)), Rate(drawn_hits, total, tuple(drawn_wrong)))


@dataclass(frozen=True)
class FlipErrors:
    """Mean absolute errors, degrees, of a mirrored photo against -yaw, pitch, -roll of the original."""

    yaw: float
    pitch: float
    roll: float
    sign_agreement: float  # share of photos with |yaw| > 5 whose mirror has the opposite yaw sign
    count: int


def pose_flip_errors(pipeline: FacePipeline, root: Path) -> FlipErrors:
    errors, agree, turned = [], 0, 0
    for _, path in identity_photos(root):
        image = decode_image(path.read_bytes(), MAX_PIXELS)
        pose = _biggest_face(pipeline, image, frozenset({"pose"}))["pose"]
        mirrored = _biggest_face(pipeline, np.ascontiguousarray(image[:, ::-1]), frozenset({"pose"}))["pose"]
        errors.append(
            [abs(pose.yaw + mirrored.yaw), abs(pose.pitch - mirrored.pitch), abs(pose.roll + mirrored.roll)]  # type: ignore[attr-defined]
        )
        if abs(pose.yaw) > 5:  # type: ignore[attr-defined]
            turned += 1
            agree += int(np.sign(pose.yaw) == -np.sign(mirrored.yaw))  # type: ignore[attr-defined]
    mean = np.mean(errors, axis=0)
    return FlipErrors(float(mean[0]), float(mean[1]), float(mean[2]), agree / turned if turned else 1.0, len(errors))


def plugin_ms(pipeline: FacePipeline, image: np.ndarray, repeats: int = 30) -> dict[str, float]:
    """Median ms per face of each plugin (and the detector and calculator) on one photo."""
    options = ScanOptions(plugins=frozenset({"calculator", *PLUGINS}))
    pipeline.scan_image(image, options)
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        for key, ms in pipeline.scan_image(image, options).faces[0].execution_time_ms.items():
            samples.setdefault(key, []).append(ms)
    return {key: float(np.median(values)) for key, values in samples.items()}
