"""Example faces of a recognition service (CompreFace §4.2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from facekeeper.api import openapi, schemas
from facekeeper.api.deps import RecognitionServiceDep, ServicesDep
from facekeeper.api.inputs import image_part, read_body
from facekeeper.api.params import Params, uuid_path
from facekeeper.api.paths import WholeCollection
from facekeeper.domain import Example
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.examples import check_example_subject
from facekeeper.services.images import MEDIA_TYPES, media_type

router = APIRouter(prefix="/api/v1/recognition/faces", tags=["examples"], responses=openapi.ERRORS)
static_router = APIRouter(prefix="/api/v1/static", tags=["examples"])
# Both image routes are authenticated (header or key in the path): no shared cache may keep an answer,
# or it would hand one tenant's faces (or the empty cross-tenant answer) to another.
_IMAGE_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
_IMAGE_CONTENT: dict[int | str, dict[str, Any]] = {200: {"content": {media: {} for media in MEDIA_TYPES}}}


def image_response(content: bytes) -> Response:
    """The stored original with its real media type (empty when none: CompreFace's 200)."""
    return Response(content, media_type=media_type(content), headers=_IMAGE_HEADERS)


def _example_json(example: Example) -> dict[str, str]:
    return {"image_id": example.image_id, "subject": example.subject}


@router.post(
    "",
    status_code=201,
    response_model=schemas.ExampleOut,
    openapi_extra=openapi.image_request("file", params=("subject", "det_prob_threshold")),
)
async def add_example(request: Request, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    """Enrol the one face in the image as an example of `subject` (created if new)."""
    body = await read_body(request)
    subject = body.params.text("subject")
    if subject is None:
        raise FacekeeperError(Error.MISSING_PARAMETER, name="subject")
    threshold = body.params.decimal("det_prob_threshold")
    image = await image_part(body, "file", "file", "content", services.settings.max_file_size)
    check_example_subject(subject)
    vector, calculator = await services.workers.inference(services.examples.embed, image, threshold, service.embedder)
    example = await services.workers.database(
        services.examples.add_embedded, service, subject, vector, calculator, image
    )
    return JSONResponse(_example_json(example), status_code=201)


@router.get(
    "", response_model=schemas.ExamplesPage, openapi_extra={"parameters": openapi.query("page", "size", "subject")}
)
async def list_examples(request: Request, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    params = Params(request.query_params.multi_items())
    page = params.lenient_integer("page", 0, 0, 2**31 - 1)
    size = params.lenient_integer("size", 20, 1, 2000)
    result = await services.workers.database(services.examples.page, service, params.text("subject"), page, size)
    return JSONResponse(
        {
            "faces": [_example_json(example) for example in result.examples],
            "page_number": result.page,
            "page_size": result.size,
            "total_pages": result.total_pages,
            "total_elements": result.total,
        }
    )


@router.delete("", response_model=schemas.DeletedResponse, openapi_extra={"parameters": openapi.query("subject")})
async def delete_examples_of_subject(
    _: WholeCollection, request: Request, service: RecognitionServiceDep, services: ServicesDep
) -> JSONResponse:
    """With `subject`: its examples and the subject. Without: every example of the service (D1)."""
    subject = Params(request.query_params.multi_items()).text("subject")
    deleted = await services.workers.database(services.examples.delete_by_subject, service, subject)
    return JSONResponse({"deleted": deleted})


@router.post(
    "/delete",
    response_model=list[schemas.ExampleOut],
    openapi_extra=openapi.json_request({"type": "array", "items": {"type": "string", "format": "uuid"}}),
)
async def delete_many_examples(request: Request, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    body = await read_body(request, multipart_allowed=False)
    if not isinstance(body.json, list) or not all(isinstance(i, str) for i in body.json):
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="The body must be a JSON array of image ids; ")
    image_ids = [uuid_path(i) for i in body.json]
    deleted = await services.workers.database(services.examples.delete_many, service, image_ids)
    return JSONResponse([_example_json(example) for example in deleted])


@router.delete("/{image_id}", response_model=schemas.ExampleOut)
async def delete_example(image_id: str, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    example = await services.workers.database(services.examples.delete, service, uuid_path(image_id))
    return JSONResponse(_example_json(example))


@router.get("/{image_id}/img", response_class=Response, responses=_IMAGE_CONTENT)
async def download_example_image(image_id: str, service: RecognitionServiceDep, services: ServicesDep) -> Response:
    """The stored original; an empty 200 when there is none (CompreFace's behaviour)."""
    content = await services.workers.database(services.examples.image, service, uuid_path(image_id))
    return image_response(content)


@static_router.get("/{api_key}/images/{image_id}", response_class=Response, responses=_IMAGE_CONTENT)
async def static_example_image(api_key: str, image_id: str, services: ServicesDep) -> Response:
    """For `<img src>`: the key is in the path, so no header is needed."""
    content = await services.workers.database(services.examples.image_by_api_key, api_key, uuid_path(image_id))
    return image_response(content)
