"""Face detection with optional plugins (CompreFace §4.5)."""

from __future__ import annotations

from facekeeper.domain import FaceScan, ScanOptions
from facekeeper.inference.pipeline import FacePipeline


class DetectionService:
    def __init__(self, pipeline: FacePipeline) -> None:
        self.pipeline = pipeline

    def detect(self, image: bytes, options: ScanOptions) -> FaceScan:
        return self.pipeline.scan(image, options)
