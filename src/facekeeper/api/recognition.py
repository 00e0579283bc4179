"""Recognition service: recognize and verify against stored examples (CompreFace §4.3, §4.4)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from facekeeper.api import openapi, schemas
from facekeeper.api.deps import RecognitionServiceDep, ServicesDep
from facekeeper.api.face_options import face_request
from facekeeper.api.inputs import embeddings_body_values, image_part, json_object, read_body
from facekeeper.api.params import uuid_path
from facekeeper.api.presenters import embedding_json, face_json, json_answer, match_json, with_versions
from facekeeper.domain import ServiceRecord
from facekeeper.services.bundle import Services
from facekeeper.services.comparison import parse_embeddings

router = APIRouter(prefix="/api/v1/recognition", tags=["recognition"], responses=openapi.ERRORS)
_FACE_PARAMS = ("limit", "det_prob_threshold", "face_plugins", "status")


@router.post(
    "/recognize",
    response_model=schemas.RecognizeResponse,
    openapi_extra=openapi.image_request("file", params=(*_FACE_PARAMS, "prediction_count", "detect_faces")),
)
async def recognize(request: Request, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    """1:N: every face in the image against every stored example, top `prediction_count` each."""
    body = await read_body(request)
    face = face_request(body.params, prediction_count=True, detect_faces=True)
    image = await image_part(body, "file", "file", "content", services.settings.max_file_size)
    await services.collections.prepare(service)  # a reload runs on the loader threads, not here
    scan = await services.workers.inference(services.recognition.scan, service, image, face.scan)
    result = await services.workers.database(services.recognition.match, service, scan, face.prediction_count)
    faces: list[dict[str, Any]] = []
    for recognized in result.faces:
        out = face_json(recognized.face, face.fields)
        out["subjects"] = [match_json(m) for m in recognized.matches]
        faces.append(out)
    return JSONResponse(with_versions({"result": faces}, result.plugins_versions, face.fields))


@router.post(
    "/faces/{image_id}/verify",
    response_model=schemas.VerifyExampleResponse,
    openapi_extra=openapi.image_request("file", params=_FACE_PARAMS),
)
async def verify_example(
    image_id: str, request: Request, service: RecognitionServiceDep, services: ServicesDep
) -> JSONResponse:
    """1:1: every face in the image against one stored example."""
    image_id = uuid_path(image_id)
    body = await read_body(request)
    face = face_request(body.params)
    image = await image_part(body, "file", "file", "content", services.settings.max_file_size)
    scan = await services.workers.inference(services.recognition.scan, service, image, face.scan)
    verified, versions = await services.workers.database(services.recognition.verify_scanned, service, image_id, scan)
    faces = []
    for item in verified:
        out = face_json(item.face, face.fields)
        out["subject"] = item.subject
        out["similarity"] = item.similarity
        faces.append(out)
    return JSONResponse(with_versions({"result": faces}, versions, face.fields))


@router.post(
    "/embeddings/recognize",
    response_model=schemas.EmbeddingsRecognizeResponse,
    openapi_extra=openapi.json_request(
        {"type": "object", "properties": {"embeddings": openapi.EMBEDDINGS}}, params=("prediction_count",)
    ),
)
async def recognize_embeddings(request: Request, service: RecognitionServiceDep, services: ServicesDep) -> Response:
    body = await read_body(request, multipart_allowed=False, max_json_values=embeddings_body_values(services, service))
    count = face_request(body.params, prediction_count=True).prediction_count
    await services.collections.prepare(service)
    value = json_object(body).get("embeddings")

    def answer() -> dict[str, object]:
        embeddings = _embeddings(services, service, value)
        result = services.recognition.recognize_embeddings(service, embeddings, count)
        return {
            "result": [
                {"embedding": embedding_json(item.embedding), "similarities": [match_json(m) for m in item.matches]}
                for item in result
            ]
        }

    return await json_answer(services, answer)


@router.post(
    "/embeddings/faces/{image_id}/verify",
    response_model=schemas.EmbeddingsVerifyResponse,
    openapi_extra=openapi.json_request({"type": "object", "properties": {"embeddings": openapi.EMBEDDINGS}}),
)
async def verify_embeddings(
    image_id: str, request: Request, service: RecognitionServiceDep, services: ServicesDep
) -> Response:
    image_id = uuid_path(image_id)
    body = await read_body(request, multipart_allowed=False, max_json_values=embeddings_body_values(services, service))
    value = json_object(body).get("embeddings")

    def answer() -> dict[str, object]:
        result = services.recognition.verify_embeddings(service, image_id, _embeddings(services, service, value))
        return {"result": [{"embedding": embedding_json(v), "similarity": s} for v, s in result]}

    return await json_answer(services, answer)


def _embeddings(services: Services, service: ServiceRecord, value: object) -> np.ndarray:
    """Vectors of the collection's embedder's dimension."""
    return parse_embeddings(
        value,
        "embeddings",
        max_count=services.settings.max_embeddings_per_request,
        dimension=services.recognition.dimension(service),
    )
