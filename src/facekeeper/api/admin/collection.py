"""A recognition service's collection from the admin side: `/admin/services/{id}/subjects|examples`.

The same use cases as the face API (services/subjects.py, services/examples.py), so the same rules and
the same errors; only the way in differs (a signed-in member instead of the service's key). Reading
needs any role in the service's application, changing needs ADMINISTRATOR or OWNER.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from facekeeper.api import openapi
from facekeeper.api.admin import schemas
from facekeeper.api.admin.deps import SignedIn
from facekeeper.api.deps import ServicesDep
from facekeeper.api.faces import image_response
from facekeeper.api.inputs import json_object, read_body, upload_bytes
from facekeeper.api.params import Params, uuid_path
from facekeeper.api.paths import exact_path_param
from facekeeper.api.schemas import ExampleOut, ExamplesPage
from facekeeper.domain import Role, ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.bundle import Services
from facekeeper.services.examples import check_example_subject
from facekeeper.services.images import thumbnail
from facekeeper.services.sessions import AdminSession

router = APIRouter(prefix="/admin/services/{service_id}", tags=["admin: collections"], responses=openapi.ADMIN_ERRORS)
_SUBJECT_BODY = openapi.json_request({"$ref": "#/components/schemas/SubjectOut"})
MAX_FILES_PER_UPLOAD = 64


async def _collection(services: Services, session: AdminSession, service_id: str, need: Role) -> ServiceRecord:
    view = await services.workers.database(services.applications.service, session.account, service_id, need)
    if view.service.type is not ServiceType.RECOGNITION:
        raise FacekeeperError(
            Error.SERVICE_NOT_RECOGNITION, name=view.service.name, type=view.service.type.name.lower()
        )
    return view.service.record


async def _exact_subject(request: Request, subject: str) -> str:
    """Re-read from the raw path, so `a%2Fb` is the name "a/b" (as on the face API)."""
    return exact_path_param(request, "subject")


SubjectPath = Annotated[str, Depends(_exact_subject)]


async def _subject_field(request: Request) -> object:
    body = await read_body(request, multipart_allowed=False)
    return json_object(body).get("subject")


def _page_params(request: Request, default_size: int) -> tuple[Params, int, int]:
    params = Params(request.query_params.multi_items())
    page = params.lenient_integer("page", 0, 0, 2**31 - 1)
    size = params.lenient_integer("size", default_size, 1, 2000)
    return params, page, size


@router.get(
    "/subjects", response_model=schemas.SubjectsPage, openapi_extra={"parameters": openapi.query("page", "size")}
)
async def list_subjects(service_id: str, request: Request, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """Subjects in name order with their example counts; `search` keeps names containing it (any case)."""
    service = await _collection(services, session, service_id, Role.USER)
    params, page, size = _page_params(request, 50)
    search = (params.text("search") or "").strip()
    items, total = await services.workers.database(services.subjects.page, service, search, page, size)
    return JSONResponse(
        {
            "subjects": [{"subject": name, "example_count": count} for name, count in items],
            "page_number": page,
            "page_size": size,
            "total_pages": (total + size - 1) // size,
            "total_elements": total,
        }
    )


@router.post("/subjects", status_code=201, response_model=schemas.SubjectOut, openapi_extra=_SUBJECT_BODY)
async def create_subject(service_id: str, request: Request, session: SignedIn, services: ServicesDep) -> JSONResponse:
    service = await _collection(services, session, service_id, Role.ADMINISTRATOR)
    name = await _subject_field(request)
    created = await services.workers.database(services.subjects.create, service, name)
    return JSONResponse({"subject": created}, status_code=201)


@router.put("/subjects/{subject:path}", response_model=schemas.RenamedSubject, openapi_extra=_SUBJECT_BODY)
async def rename_subject(
    service_id: str, subject: SubjectPath, request: Request, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """Rename; when the new name is another subject's (ignoring case), its examples merge into it."""
    service = await _collection(services, session, service_id, Role.ADMINISTRATOR)
    new_name = await _subject_field(request)
    updated = await services.workers.database(services.subjects.rename, service, subject, new_name)
    return JSONResponse({"updated": updated, "subject": new_name})


@router.delete("/subjects/{subject:path}", response_model=schemas.SubjectOut)
async def delete_subject(
    service_id: str, subject: SubjectPath, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """With its examples and their images."""
    service = await _collection(services, session, service_id, Role.ADMINISTRATOR)
    return JSONResponse({"subject": await services.workers.database(services.subjects.delete, service, subject)})


@router.get(
    "/examples",
    response_model=ExamplesPage,
    openapi_extra={"parameters": openapi.query("page", "size", "subject")},
)
async def list_examples(service_id: str, request: Request, session: SignedIn, services: ServicesDep) -> JSONResponse:
    service = await _collection(services, session, service_id, Role.USER)
    params, page, size = _page_params(request, 20)
    result = await services.workers.database(services.examples.page, service, params.text("subject"), page, size)
    return JSONResponse(
        {
            "faces": [{"image_id": e.image_id, "subject": e.subject} for e in result.examples],
            "page_number": result.page,
            "page_size": result.size,
            "total_pages": result.total_pages,
            "total_elements": result.total,
        }
    )


def _failure(filename: str, error: FacekeeperError) -> dict[str, Any]:
    return {"file": filename, "status": error.http_status, "error": error.body()}


async def _enrol(services: Services, service: ServiceRecord, subject: str, upload: UploadFile) -> dict[str, Any]:
    """One file: the face API's checks and enrolment; its failure is this file's answer, not the request's."""
    filename = upload.filename or ""
    try:
        image = await upload_bytes(upload, services.settings.max_file_size)
        # by the collection's own embedder, as the face API's enrolment does
        vector, calculator = await services.workers.inference(services.examples.embed, image, None, service.embedder)
        example = await services.workers.database(
            services.examples.add_embedded, service, subject, vector, calculator, image
        )
    except FacekeeperError as error:
        return _failure(filename, error)
    return {"file": filename, "status": 201, "image_id": example.image_id, "subject": example.subject}


@router.post(
    "/examples",
    response_model=schemas.UploadResults,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "subject": {"type": "string"},
                            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                        "required": ["subject", "file"],
                    }
                }
            },
        }
    },
)
async def upload_examples(service_id: str, request: Request, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """One or more `file` parts, each one face of `subject` (created if new). Answers 200 with one result
    per file, in order: `status` 201 and its `image_id`, or the face API's error for that file."""
    service = await _collection(services, session, service_id, Role.ADMINISTRATOR)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        raise FacekeeperError(Error.UNSUPPORTED_MEDIA_TYPE, content_type=request.headers.get("content-type", "none"))
    form = await request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=16)
    subjects = [value for key, value in form.multi_items() if key == "subject" and isinstance(value, str)]
    uploads = [value for key, value in form.multi_items() if key == "file" and not isinstance(value, str)]
    if not subjects:
        raise FacekeeperError(Error.MISSING_PARAMETER, name="subject")
    if not uploads:
        raise FacekeeperError(Error.MISSING_PART, name="file")
    subject = subjects[0]
    check_example_subject(subject)
    results = [await _enrol(services, service, subject, upload) for upload in uploads]
    return JSONResponse({"results": results})


@router.delete("/examples/{image_id}", response_model=ExampleOut)
async def delete_example(service_id: str, image_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    service = await _collection(services, session, service_id, Role.ADMINISTRATOR)
    example = await services.workers.database(services.examples.delete, service, uuid_path(image_id))
    return JSONResponse({"image_id": example.image_id, "subject": example.subject})


@router.get(
    "/examples/{image_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "application/octet-stream": {}}}},
)
async def example_image(
    service_id: str, image_id: str, request: Request, session: SignedIn, services: ServicesDep
) -> Response:
    """The stored original, or with `max_side` a JPEG whose longest side is at most that (a thumbnail).
    Empty when the server keeps no images (`save_images_to_db` off)."""
    service = await _collection(services, session, service_id, Role.USER)
    params = Params(request.query_params.multi_items())
    max_side = params.integer("max_side", 0)
    if not 0 <= max_side <= 4096:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="max_side must be between 0 and 4096; ")
    content = await services.workers.database(services.examples.image, service, uuid_path(image_id))
    if content and max_side:
        limit = services.settings.max_image_pixels
        content = await services.workers.inference(thumbnail, content, max_side, limit)  # a JPEG
    return image_response(content)
