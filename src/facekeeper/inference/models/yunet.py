"""YuNet 2023mar (OpenCV Zoo, MIT): a 5-landmark face detector small enough to run at 10 ms per photo.

Run through onnxruntime rather than cv2.FaceDetectorYN so its threads are ours to set and the stale-input
and block-quantisation fixes of `OnnxSession` apply; the anchor-free decoding below mirrors OpenCV's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from facekeeper.inference.base import Detection
from facekeeper.inference.model_files import YUNET_INT8
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.session import ModelSession, OnnxSession

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

STRIDES = (8, 16, 32)
INPUT_NAME = "input"
# Runtimes are compared on the detection copy of a 4:3 photo at the default max_detect_size (640).
SAMPLE_SHAPES = {INPUT_NAME: (1, 3, 480, 640)}


class YuNetDetector(OnnxModel):
    """Detector protocol implementation; any input size, zero-padded right and bottom to a multiple of 32."""

    version = "yunet.FaceDetector@2023mar"
    # Measured by benchmarks/calibrate.py on ../shared/faces (D9): see docs/models.md.
    default_threshold = 0.8

    def __init__(
        self,
        model_path: Path,
        threads: int = 1,
        *,
        session: ModelSession | None = None,
        candidate_threshold: float = 0.3,
        nms_iou: float = 0.3,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        # Candidates under this never reach the pipeline: a lower det_prob_threshold finds nothing more.
        self.candidate_threshold = candidate_threshold
        self.nms_iou = nms_iou
        super().__init__(
            lambda: OnnxSession(
                model_path, threads, free_axes={INPUT_NAME: (2, 3)}, runtime=runtime, sample_shapes=SAMPLE_SHAPES
            ),
            session,
        )

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        height, width = image_rgb.shape[:2]
        padded_height, padded_width = -(-height // 32) * 32, -(-width // 32) * 32
        blob = np.zeros((1, 3, padded_height, padded_width), dtype=np.float32)
        # YuNet was trained on OpenCV's BGR order, 0..255, no normalisation.
        blob[0, :, :height, :width] = image_rgb[:, :, ::-1].transpose(2, 0, 1)
        outputs = self.session.run({INPUT_NAME: blob})
        return self._decode(outputs, padded_height, padded_width)

    def _decode(self, outputs: list[np.ndarray], height: int, width: int) -> list[Detection]:
        """Outputs are cls, obj, bbox, kps for strides 8, 16, 32 (in that order, as the file declares)."""
        count = len(STRIDES)
        boxes, scores, landmarks = [], [], []
        for level, stride in enumerate(STRIDES):
            cls, obj = outputs[level].reshape(-1), outputs[count + level].reshape(-1)
            bbox, kps = outputs[2 * count + level].reshape(-1, 4), outputs[3 * count + level].reshape(-1, 10)
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            keep = np.flatnonzero(score > self.candidate_threshold)
            if keep.size == 0:
                continue
            columns = width // stride
            anchor = np.stack([keep % columns, keep // columns], axis=1).astype(np.float32)
            centre = (anchor + bbox[keep, :2]) * stride
            size = np.exp(bbox[keep, 2:]) * stride
            boxes.append(np.concatenate([centre - size / 2, size], axis=1))
            scores.append(score[keep])
            landmarks.append((kps[keep].reshape(-1, 5, 2) + anchor[:, None, :]) * stride)
        if not boxes:
            return []
        all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
        all_landmarks = np.concatenate(landmarks)
        kept = cv2.dnn.NMSBoxes(all_boxes.tolist(), all_scores.tolist(), self.candidate_threshold, self.nms_iou)
        return [
            Detection(
                x_min=float(all_boxes[i, 0]),
                y_min=float(all_boxes[i, 1]),
                x_max=float(all_boxes[i, 0] + all_boxes[i, 2]),
                y_max=float(all_boxes[i, 1] + all_boxes[i, 3]),
                probability=float(all_scores[i]),
                landmarks=all_landmarks[i].astype(np.float32),
            )
            for i in np.asarray(kept, dtype=int).reshape(-1)
        ]


def register(registry: ModelRegistry) -> None:
    def build(settings: Settings) -> YuNetDetector:
        return YuNetDetector(YUNET_INT8.locate(), settings.onnx_threads, runtime=RuntimeOptions.of(settings))

    registry.add_detector("yunet", build)
