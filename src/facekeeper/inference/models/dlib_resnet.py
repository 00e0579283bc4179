"""dlib's ResNet face descriptor (128-d, `dlib_face_recognition_resnet_model_v1.dat` from
`face-recognition-models`, run by `dlib-bin`), fed YuNet's five points instead of dlib's own detector.

The network was trained on dlib face chips: 150 px, 25 % padding, aligned by dlib's 5-point shape (eye
corners and nose base). We cut the same chip from YuNet's points (eye centres, nose tip, mouth corners)
with the template of where those land in a dlib chip, fitted once for the age and gender chips
(`agegender.YUNET_IN_DLIB_CHIP`), so dlib's detector and shape predictor never run.

dlib's network object is not safe to run from two threads at once: calls are serialised by a lock (dlib
computes with its own single thread, so a second worker would gain little anyway).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facekeeper.domain import SimilarityCoefficients
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.model_files import WeightFile
from facekeeper.inference.models.agegender import YUNET_IN_DLIB_CHIP

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

DLIB_RESNET = WeightFile(
    "dlib ResNet face descriptor",
    "face_recognition_models",
    "models/dlib_face_recognition_resnet_model_v1.dat",
    "face-recognition-models==0.3.0",
)
CHIP_SIZE = 150
CHIP_PADDING = 0.25  # dlib's compute_face_descriptor default (get_face_chip(img, shape, 150, 0.25))
DLIB_CHIP_150 = CropSpec(
    CHIP_SIZE, (CHIP_PADDING + YUNET_IN_DLIB_CHIP) / (1 + 2 * CHIP_PADDING) * CHIP_SIZE, antialias=True
)


class DlibEmbedder:
    """Embedder protocol (`CropsEmbedder`): 150 px dlib chips in, 128-d descriptors out."""

    version = "dlib.Calculator@resnet_v1"
    dimension = 128
    # Fitted by benchmarks/calibrate.py on ../shared/calibration/lfw-dev + ../shared/faces: see docs/models.md.
    coefficients = SimilarityCoefficients(c0=0.411128, c1=28.6926)
    crops = (DLIB_CHIP_150,)

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = model_path
        self._model: Any = None
        self._runtime: str | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            try:
                import dlib
            except ImportError as error:
                reason = f"dlib is not installed (pip install dlib-bin): {error}"
                raise FacekeeperError(Error.MODEL_UNAVAILABLE, name="dlib", reason=reason) from error
            path = self.model_path or DLIB_RESNET.locate()
            self._model = dlib.face_recognition_model_v1(str(path))
            self._runtime = f"dlib {dlib.__version__}"

    @property
    def runtime(self) -> str | None:
        """dlib runs its own network (CPU, one thread); None before loading."""
        return self._runtime

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) uint8 RGB dlib chips -> (N, 128) float32."""
        if len(faces_rgb) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        chips = [np.ascontiguousarray(chip, dtype=np.uint8) for chip in faces_rgb]
        with self._lock:
            descriptors = self._model.compute_face_descriptor(chips)
        return np.asarray([np.asarray(d) for d in descriptors], dtype=np.float32).reshape(len(chips), self.dimension)

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        return self.embed(faces.get(DLIB_CHIP_150))


def register(registry: ModelRegistry) -> None:
    def build(_settings: Settings) -> DlibEmbedder:
        return DlibEmbedder()

    registry.add_embedder("dlib", build)
