"""SFace 2021dec (OpenCV Zoo, Apache-2.0): 128-d embeddings from ArcFace-aligned 112x112 crops."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facekeeper.domain import SimilarityCoefficients
from facekeeper.inference.model_files import SFACE_INT8
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.session import ModelSession, OnnxSession

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

INPUT_NAME = "data"


class SFaceEmbedder(OnnxModel):
    """Embedder protocol implementation; the int8 file, folded to fp32 weights at load."""

    # The weight file is part of the name: embeddings from another SFace file are not interchangeable.
    version = "sface.Calculator@2021dec_int8bq"
    dimension = 128
    # Fitted by benchmarks/calibrate.py on ../shared/calibration/lfw-dev + ../shared/faces (D8): docs/models.md.
    coefficients = SimilarityCoefficients(c0=1.139543, c1=16.5442)

    def __init__(
        self,
        model_path: Path,
        threads: int = 1,
        *,
        session: ModelSession | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        # The file is exported for batch 1 but nothing in it depends on that: any batch size works.
        super().__init__(
            lambda: OnnxSession(model_path, threads, free_axes={INPUT_NAME: (0,)}, runtime=runtime), session
        )

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        if len(faces_rgb) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # RGB, 0..255, no mean or scale: feeding BGR measurably hurts recognition (docs/models.md).
        blob = np.ascontiguousarray(np.asarray(faces_rgb, dtype=np.float32).transpose(0, 3, 1, 2))
        embeddings = self.session.run({INPUT_NAME: blob})[0]
        return np.asarray(embeddings, dtype=np.float32).reshape(len(faces_rgb), self.dimension)


def register(registry: ModelRegistry) -> None:
    def build(settings: Settings) -> SFaceEmbedder:
        return SFaceEmbedder(SFACE_INT8.locate(), settings.onnx_threads, runtime=RuntimeOptions.of(settings))

    registry.add_embedder("sface", build)
