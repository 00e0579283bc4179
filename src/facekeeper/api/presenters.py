"""Domain results -> CompreFace JSON, with its field-presence rules (§5).

`embedding` appears only when the request's `face_plugins` text contains "calculator" (CompreFace's
substring test), `landmarks` only when asked for, `execution_time` and `plugins_versions` only with
`status=true`. Those two hold every model that ran (detector, calculator and each plugin, whatever its
slug); `landmarks` is never among them, as in CompreFace, because the detector itself provides it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response

from facekeeper.domain import LANDMARKS, Face, Match, round_half_up
from facekeeper.services.bundle import Services


@dataclass(frozen=True)
class FaceFields:
    face_plugins_text: str
    landmarks: bool
    status: bool
    round_probability: bool = True

    @classmethod
    def of(cls, face_plugins: str | None, slugs: frozenset[str], status: bool, **kwargs: bool) -> FaceFields:
        return cls(face_plugins or "", LANDMARKS in slugs, status, **kwargs)

    @property
    def embedding(self) -> bool:
        return "calculator" in self.face_plugins_text


def face_json(face: Face, fields: FaceFields) -> dict[str, Any]:
    box = face.box
    out: dict[str, Any] = {slug: plugin_value_json(value) for slug, value in face.attributes.items()}
    if fields.embedding and face.embedding is not None:
        out["embedding"] = [float(x) for x in face.embedding]
    out["box"] = {
        "probability": round_half_up(box.probability) if fields.round_probability else float(box.probability),
        "x_max": box.x_max,
        "y_max": box.y_max,
        "x_min": box.x_min,
        "y_min": box.y_min,
    }
    if fields.landmarks:
        out["landmarks"] = [[int(x), int(y)] for x, y in face.landmarks]
    if fields.status:
        out["execution_time"] = {key: float(ms) for key, ms in face.execution_time_ms.items()}
    return out


def plugin_value_json(value: object) -> Any:
    """A plugin's domain value (`Age`, `Gender`, `Mask`, `Pose`, or an outside plugin's dataclass) as JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def with_versions(body: dict[str, Any], versions: dict[str, str], fields: FaceFields) -> dict[str, Any]:
    if fields.status:
        body["plugins_versions"] = dict(versions)
    return body


def match_json(match: Match) -> dict[str, Any]:
    return {"subject": match.subject, "similarity": match.similarity}


def embedding_json(vector: Any) -> list[float]:
    return [float(x) for x in vector]


async def json_answer(services: Services, build: Callable[[], dict[str, object]]) -> Response:
    """Build and serialise an answer in the database pool: thousands of vectors are too much work for
    the event loop, which every other request shares."""

    def render() -> bytes:
        return json.dumps(build(), allow_nan=False).encode()

    return Response(await services.workers.database(render), media_type="application/json")
