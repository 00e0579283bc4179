"""Reading a CompreFace request body: multipart parts or Base64 JSON, parameters, size limits."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from facekeeper.api.params import Params
from facekeeper.domain import IMAGE_EXTENSIONS, ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.bundle import Services
from facekeeper.workers import Workers

ALLOWED_EXTENSIONS = IMAGE_EXTENSIONS
_DATA_URI = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


@dataclass
class RequestBody:
    params: Params
    is_json: bool
    json: Any = None
    files: dict[str, UploadFile] = field(default_factory=dict)


def _extension(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def decode_base64(text: str) -> bytes:
    """D11: standard or URL-safe alphabet, whitespace ignored, optional `data:image/...;base64,` prefix."""
    compact = _WHITESPACE.sub("", _DATA_URI.sub("", text.strip(), count=1))
    compact = compact.replace("-", "+").replace("_", "/")
    if not _BASE64.match(compact) or len(compact.rstrip("=")) % 4 == 1:
        raise FacekeeperError(Error.NOT_BASE64)
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise FacekeeperError(Error.NOT_BASE64) from error


async def read_body(
    request: Request, *, json_allowed: bool = True, multipart_allowed: bool = True, max_json_values: int | None = None
) -> RequestBody:
    """The body, multipart or JSON. A JSON body's size in arrays and objects (and, for routes that say so,
    in values) is counted on the raw bytes before parsing: the decoder holds the interpreter lock, so a
    10 MB body of millions of tiny lists would stall every other request for seconds, even in a thread."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    query = list(request.query_params.multi_items())
    if media_type == "multipart/form-data" and multipart_allowed:
        form = await request.form(max_files=16, max_fields=256)
        texts = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
        files = {key: value for key, value in form.multi_items() if not isinstance(value, str)}
        return RequestBody(Params(query + texts), False, files=files)
    if media_type == "application/json" and json_allowed:
        raw = await request.body()
        services = request.app.state.services
        check_json_size(raw, services.settings.max_embeddings_per_request + JSON_CONTAINERS_BESIDE, max_json_values)
        workers: Workers = services.workers
        return RequestBody(Params(query), True, json=await workers.parse(len(raw), parse_json, raw))
    raise FacekeeperError(Error.UNSUPPORTED_MEDIA_TYPE, content_type=content_type or "none")


# Arrays and objects a JSON body may hold beyond one per embedding: the outer ones and a few fields.
JSON_CONTAINERS_BESIDE = 64


def check_json_size(raw: bytes, max_containers: int, max_values: int | None) -> None:
    """Counts brackets and commas (milliseconds for 10 MB); those inside strings count too, which only
    errs on the safe side for the bodies the API takes (Base64, UUIDs, names, numbers)."""
    containers = raw.count(b"[") + raw.count(b"{")
    if containers > max_containers:
        raise FacekeeperError(Error.JSON_TOO_LARGE, limit=max_containers, items="arrays and objects")
    if max_values is not None and containers + raw.count(b",") > max_values:
        raise FacekeeperError(Error.JSON_TOO_LARGE, limit=max_values, items="values")


def embeddings_body_values(services: Services, service: ServiceRecord | None = None) -> int:
    """The most values an embeddings body can need: every allowed vector (plus a source) at full size, of
    the collection's embedder (`service`) or the server's active one."""
    embedder = services.pipeline.embedder_for(service.embedder if service is not None else None)
    per_vector = embedder.dimension + 1
    return (services.settings.max_embeddings_per_request + 1) * per_vector + JSON_CONTAINERS_BESIDE


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except RecursionError:  # `[[[[...` thousands deep: the decoder recurses once per level
        raise FacekeeperError(Error.JSON_TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="The JSON body is malformed; ") from error


def _check_size(data: bytes, limit: int) -> bytes:
    if len(data) > limit:
        raise FacekeeperError(Error.FILE_TOO_LARGE, size=len(data), limit=limit)
    return data


async def image_part(body: RequestBody, part: str, json_field: str, java_field: str, limit: int) -> bytes:
    """The image bytes of multipart part `part`, or of JSON field `json_field` (Base64).

    `java_field` is the name CompreFace's message leaks for a missing JSON field ("content").
    """
    if body.is_json:
        value = body.json.get(json_field) if isinstance(body.json, dict) else None
        if value is None:
            raise FacekeeperError(Error.FIELD_EMPTY, field=java_field)
        if not isinstance(value, str):
            raise FacekeeperError(Error.NOT_BASE64)
        if len(value) > limit * 4 // 3 + 1024:
            raise FacekeeperError(Error.FILE_TOO_LARGE, size=len(value) * 3 // 4, limit=limit)
        return _check_size(decode_base64(value), limit)
    upload = body.files.get(part)
    if upload is None:
        raise FacekeeperError(Error.MISSING_PART, name=part)
    return await upload_bytes(upload, limit)


async def upload_bytes(upload: UploadFile, limit: int) -> bytes:
    """The bytes of one uploaded file, after the face API's checks: an image extension, the size limit."""
    filename = upload.filename or ""
    if _extension(filename) not in ALLOWED_EXTENSIONS:
        raise FacekeeperError(Error.BAD_EXTENSION, filename=filename)
    if upload.size is not None and upload.size > limit:
        raise FacekeeperError(Error.FILE_TOO_LARGE, size=upload.size, limit=limit)
    return _check_size(await upload.read(), limit)


def json_object(body: RequestBody) -> dict[str, Any]:
    if not isinstance(body.json, dict):
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="The JSON body must be an object; ")
    return body.json
