"""Subjects of a recognition service (CompreFace §4.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from facekeeper.api import openapi, schemas
from facekeeper.api.deps import RecognitionServiceDep, ServicesDep
from facekeeper.api.inputs import json_object, read_body
from facekeeper.api.paths import WholeCollection, exact_path_param

router = APIRouter(prefix="/api/v1/recognition/subjects", tags=["subjects"], responses=openapi.ERRORS)
_SUBJECT_BODY = openapi.json_request({"$ref": "#/components/schemas/SubjectBody"})


async def _exact_subject(request: Request, subject: str) -> str:
    """`subject` is declared for OpenAPI; the value is re-read from the raw path, so `a%2Fb` is "a/b"."""
    return exact_path_param(request, "subject")


# `:path` lets the router match a name holding an encoded `/`; `_exact_subject` insists on one segment.
SubjectPath = Annotated[str, Depends(_exact_subject)]


async def _subject_field(request: Request) -> object:
    body = await read_body(request, multipart_allowed=False)
    return json_object(body).get("subject")


@router.post("", status_code=201, response_model=schemas.SubjectBody, openapi_extra=_SUBJECT_BODY)
async def create_subject(request: Request, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    name = await _subject_field(request)
    created = await services.workers.database(services.subjects.create, service, name)
    return JSONResponse({"subject": created}, status_code=201)


@router.get("", response_model=schemas.SubjectsResponse)
async def list_subjects(service: RecognitionServiceDep, services: ServicesDep) -> Response:
    """Answered from the array encoded for the collection's revision; read on a database worker only when
    the collection changed since (at 200,000 subjects the answer is ~3 MB)."""
    names = services.subjects.cached_names_json(service)
    if names is None:
        names = await services.workers.database(services.subjects.names_json, service)
    return Response(b'{"subjects":' + names + b"}", media_type="application/json")


@router.put("/{subject:path}", response_model=schemas.UpdatedResponse, openapi_extra=_SUBJECT_BODY)
async def rename_subject(
    subject: SubjectPath, request: Request, service: RecognitionServiceDep, services: ServicesDep
) -> JSONResponse:
    """Rename; when the new name is another subject's (ignoring case), merge into it."""
    new_name = await _subject_field(request)
    updated = await services.workers.database(services.subjects.rename, service, subject, new_name)
    return JSONResponse({"updated": updated})


@router.delete("/{subject:path}", response_model=schemas.SubjectBody)
async def delete_subject(subject: SubjectPath, service: RecognitionServiceDep, services: ServicesDep) -> JSONResponse:
    return JSONResponse({"subject": await services.workers.database(services.subjects.delete, service, subject)})


@router.delete("", response_model=schemas.DeletedResponse)
async def delete_all_subjects(
    _: WholeCollection, service: RecognitionServiceDep, services: ServicesDep
) -> JSONResponse:
    return JSONResponse({"deleted": await services.workers.database(services.subjects.delete_all, service)})
