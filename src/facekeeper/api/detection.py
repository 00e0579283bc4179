"""Detection service (CompreFace §4.5)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from facekeeper.api import openapi, schemas
from facekeeper.api.deps import DetectionServiceDep, ServicesDep
from facekeeper.api.face_options import face_request
from facekeeper.api.inputs import image_part, read_body
from facekeeper.api.presenters import face_json, with_versions

router = APIRouter(prefix="/api/v1/detection", tags=["detection"], responses=openapi.ERRORS)


@router.post(
    "/detect",
    response_model=schemas.DetectResponse,
    openapi_extra=openapi.image_request("file", params=("limit", "det_prob_threshold", "face_plugins", "status")),
)
async def detect(request: Request, service: DetectionServiceDep, services: ServicesDep) -> JSONResponse:
    """Faces, biggest first; box probability is not rounded here (CompreFace's quirk)."""
    body = await read_body(request)
    face = face_request(body.params, round_probability=False)
    image = await image_part(body, "file", "file", "content", services.settings.max_file_size)
    scan = await services.workers.inference(services.detection.detect, image, face.scan)
    faces = [face_json(found, face.fields) for found in scan.faces]
    return JSONResponse(with_versions({"result": faces}, scan.plugins_versions, face.fields))
