"""Comparing two images, or embeddings, without a stored collection (CompreFace §4.6)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facekeeper.domain import Face, ScanOptions, with_calculator
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.services.comparison import pairwise_similarities


@dataclass
class Verification:
    source: Face
    matches: list[tuple[Face, float]]  # detection order (biggest first), not sorted by similarity
    plugins_versions: dict[str, str]


class VerificationService:
    def __init__(self, pipeline: FacePipeline) -> None:
        self.pipeline = pipeline

    def verify(self, source_image: bytes, target_image: bytes, options: ScanOptions) -> Verification:
        options = with_calculator(options)
        source = self.pipeline.scan(source_image, options)
        if len(source.faces) > 1:
            raise FacekeeperError(Error.TOO_MANY_FACES)
        target = self.pipeline.scan(target_image, options)
        source_face = source.faces[0]
        assert source_face.embedding is not None
        targets = np.stack([face.embedding for face in target.faces])  # type: ignore[misc]
        similarities = pairwise_similarities(self.pipeline.embedder.coefficients, source_face.embedding, targets)
        return Verification(source_face, list(zip(target.faces, similarities, strict=True)), source.plugins_versions)

    def verify_embeddings(self, source: np.ndarray, targets: np.ndarray) -> list[tuple[np.ndarray, float]]:
        similarities = pairwise_similarities(self.pipeline.embedder.coefficients, source, targets)
        return sorted(zip(targets, similarities, strict=True), key=lambda pair: pair[1], reverse=True)
