"""OpenAPI descriptions of what the routers read by hand (CompreFace parameters may come from the
query string or from multipart fields, which FastAPI's declarative parameters cannot express)."""

from __future__ import annotations

from typing import Any

from facekeeper.api.schemas import ErrorBody

_PARAMETERS: dict[str, tuple[str, str]] = {
    "limit": ("integer", "Maximum number of faces, biggest first; 0 = all."),
    "prediction_count": ("integer", "Stored examples returned per face, most similar first."),
    "det_prob_threshold": ("number", "Keep faces whose detection probability is strictly greater."),
    "face_plugins": ("string", "Comma-separated plugin slugs: landmarks, calculator (unknown ones ignored)."),
    "status": ("boolean", "Add execution_time per face and plugins_versions."),
    "detect_faces": ("boolean", "false: treat the whole image as one face."),
    "subject": ("string", "Subject name."),
    "page": ("integer", "Page number, from 0."),
    "size": ("integer", "Page size (default 20, at most 2000)."),
}


def query(*names: str) -> list[dict[str, Any]]:
    return [
        {
            "name": n,
            "in": "query",
            "required": False,
            "schema": {"type": _PARAMETERS[n][0]},
            "description": _PARAMETERS[n][1],
        }
        for n in names
    ]


def image_request(*parts: str, params: tuple[str, ...] = ()) -> dict[str, Any]:
    """Multipart with binary `parts`, or JSON with the same fields as Base64 strings."""
    multipart = {n: {"type": "string", "format": "binary"} for n in parts}
    multipart.update({n: {"type": _PARAMETERS[n][0]} for n in params})
    return {
        "parameters": query(*params),
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": multipart, "required": list(parts)}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {n: {"type": "string", "format": "byte"} for n in parts},
                        "required": list(parts),
                    }
                },
            },
        },
    }


def json_request(schema: dict[str, Any], params: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "parameters": query(*params),
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
    }


EMBEDDINGS = {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "CompreFace error"},
    404: {"model": ErrorBody, "description": "CompreFace error"},
}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input (same catalogue as the face API)"},
    401: {"model": ErrorBody, "description": "No valid session: sign in"},
    403: {"model": ErrorBody, "description": "Access denied, or a missing or wrong X-CSRF-Token"},
    404: {"model": ErrorBody, "description": "No such application, service, account, subject or image"},
}
