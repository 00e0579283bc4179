"""Verification service: compare two images, or embeddings (CompreFace §4.6)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from facekeeper.api import openapi, schemas
from facekeeper.api.deps import ServicesDep, VerificationServiceDep
from facekeeper.api.face_options import face_request
from facekeeper.api.inputs import embeddings_body_values, image_part, json_object, read_body
from facekeeper.api.presenters import embedding_json, face_json, json_answer, with_versions
from facekeeper.services.comparison import parse_embeddings, parse_vector

router = APIRouter(prefix="/api/v1/verification", tags=["verification"], responses=openapi.ERRORS)


@router.post(
    "/verify",
    response_model=schemas.VerificationResponse,
    openapi_extra=openapi.image_request(
        "source_image", "target_image", params=("limit", "det_prob_threshold", "face_plugins", "status")
    ),
)
async def verify(request: Request, service: VerificationServiceDep, services: ServicesDep) -> JSONResponse:
    """The one face of the source image against every face of the target image."""
    body = await read_body(request)
    face = face_request(body.params)
    limit = services.settings.max_file_size
    source = await image_part(body, "source_image", "source_image", "sourceImageBase64", limit)
    target = await image_part(body, "target_image", "target_image", "targetImageBase64", limit)
    result = await services.workers.inference(services.verification.verify, source, target, face.scan)
    matches = []
    for matched, similarity in result.matches:
        out = face_json(matched, face.fields)
        out["similarity"] = similarity
        matches.append(out)
    element = {"source_image_face": face_json(result.source, face.fields), "face_matches": matches}
    return JSONResponse({"result": [with_versions(element, result.plugins_versions, face.fields)]})


@router.post(
    "/embeddings/verify",
    response_model=schemas.EmbeddingsVerifyResponse,
    openapi_extra=openapi.json_request(
        {
            "type": "object",
            "properties": {"source": {"type": "array", "items": {"type": "number"}}, "targets": openapi.EMBEDDINGS},
        }
    ),
)
async def verify_embeddings(request: Request, service: VerificationServiceDep, services: ServicesDep) -> Response:
    values = embeddings_body_values(services)
    body = json_object(await read_body(request, multipart_allowed=False, max_json_values=values))
    dimension = services.pipeline.embedder.dimension
    limit = services.settings.max_embeddings_per_request

    def answer() -> dict[str, object]:
        targets = parse_embeddings(body.get("targets"), "targets", max_count=limit, dimension=dimension)
        source = parse_vector(body.get("source"), "source", dimension=dimension)
        result = services.verification.verify_embeddings(source, targets)
        return {"result": [{"embedding": embedding_json(v), "similarity": s} for v, s in result]}

    return await json_answer(services, answer)
