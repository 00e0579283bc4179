"""The face parameters shared by recognize, verify, detect and verification, checked as CompreFace does."""

from __future__ import annotations

from dataclasses import dataclass

from facekeeper.api.params import Params, face_plugins, min_violations
from facekeeper.api.presenters import FaceFields
from facekeeper.domain import ScanOptions


@dataclass(frozen=True)
class FaceRequest:
    scan: ScanOptions
    fields: FaceFields
    prediction_count: int = 1


def face_request(
    params: Params, *, prediction_count: bool = False, detect_faces: bool = False, round_probability: bool = True
) -> FaceRequest:
    limit = params.integer("limit", 0)
    count = params.integer("prediction_count", 1) if prediction_count else 1
    min_violations(
        [
            (limit < 0, "Limit should be equal or greater than 0"),
            (count < 1, "prediction_count should be equal or greater than 1"),
        ]
    )
    plugins_text = params.text("face_plugins")
    slugs = face_plugins(plugins_text)
    status = params.boolean("status", False)
    scan = ScanOptions(
        limit=limit,
        det_prob_threshold=params.decimal("det_prob_threshold"),
        plugins=slugs,
        detect_faces=params.boolean("detect_faces", True) if detect_faces else True,
    )
    fields = FaceFields.of(plugins_text, slugs, status, round_probability=round_probability)
    return FaceRequest(scan, fields, count)
