"""One service: `/admin/services/{id}` (rename, delete, new key, requests per day)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from facekeeper.api import openapi
from facekeeper.api.admin import schemas
from facekeeper.api.admin.deps import SignedIn
from facekeeper.api.deps import ServicesDep
from facekeeper.api.inputs import json_object, read_body
from facekeeper.api.openapi import ADMIN_ERRORS
from facekeeper.domain import Role
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.applications import MAX_STATS_DAYS

router = APIRouter(prefix="/admin/services", tags=["admin: services"], responses=ADMIN_ERRORS)


@router.get("/{service_id}", response_model=schemas.ServiceOut)
async def get_service(service_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """With its subject and example counts and the caller's role in its application."""
    view = await services.workers.database(services.applications.service, session.account, service_id)
    return JSONResponse(schemas.service_json(view.service, subject_count=view.subject_count, role=view.role))


@router.patch("/{service_id}", response_model=schemas.ServiceOut)
async def rename_service(
    service_id: str, body: schemas.NameBody, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    renamed = await services.workers.database(
        services.applications.rename_service, session.account, service_id, body.name
    )
    return JSONResponse(schemas.service_json(renamed))


@router.delete("/{service_id}", response_model=schemas.ServiceOut)
async def delete_service(service_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """With its whole collection; its key stops working at once."""
    deleted = await services.workers.database(services.applications.delete_service, session.account, service_id)
    return JSONResponse(schemas.service_json(deleted))


@router.post("/{service_id}/key", response_model=schemas.ServiceOut)
async def regenerate_key(service_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """A new random key; the old one is refused from the next request on, by every server process."""
    changed = await services.workers.database(services.applications.regenerate_key, session.account, service_id)
    return JSONResponse(schemas.service_json(changed))


@router.get("/{service_id}/stats", response_model=schemas.StatsOut)
async def request_stats(
    service_id: str,
    session: SignedIn,
    services: ServicesDep,
    days: int = Query(30, ge=1, le=MAX_STATS_DAYS, description="How many days, today included."),
) -> JSONResponse:
    """Face API requests made with the service's key, per UTC day (counts of other server processes
    arrive within `usage_flush_interval_s`)."""
    counts = await services.workers.database(services.applications.stats, session.account, service_id, days)
    return JSONResponse(
        {
            "service_id": service_id,
            "days": [{"date": c.day.isoformat(), "requests": c.requests} for c in counts],
            "total": sum(c.requests for c in counts),
        }
    )


@router.post(
    "/{service_id}/migrate",
    status_code=202,
    response_model=schemas.MigrationOut,
    openapi_extra=openapi.json_request({"$ref": "#/components/schemas/MigrateBody"}),
)
async def start_migration(service_id: str, request: Request, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """D5: re-embed every stored example of a recognition service with `embedder` (default: the server's
    active one) in the background; recognition keeps using the old vectors until the atomic switch.
    The application's owner or administrators. Poll GET for progress."""
    has_body = request.headers.get("content-length") not in (None, "0") or "transfer-encoding" in request.headers
    body = await read_body(request, multipart_allowed=False) if has_body else None
    fields = json_object(body) if body is not None and body.json is not None else {}
    embedder = fields.get("embedder", services.settings.embedder)
    if not isinstance(embedder, str) or not embedder.strip():
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="embedder must be a model name; ")
    view = await services.workers.database(
        services.applications.service, session.account, service_id, Role.ADMINISTRATOR
    )
    # Registered and locked before its thread starts: the answer says running (or already done).
    progress = await services.workers.database(services.migration.start, view.service.record, embedder.strip())
    return JSONResponse(progress.to_json(), status_code=202)


@router.get("/{service_id}/migrate", response_model=schemas.MigrationOut)
async def migration_progress(service_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """The re-embedding's state (idle, running, interrupted, done, failed), done and total examples."""
    view = await services.workers.database(services.applications.service, session.account, service_id)
    progress = await services.workers.database(services.migration.progress, view.service.record)
    return JSONResponse(progress.to_json())
