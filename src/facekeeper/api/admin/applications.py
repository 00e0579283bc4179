"""Applications, their members and their services: `/admin/applications/...`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from facekeeper.api.admin import schemas
from facekeeper.api.admin.deps import SignedIn
from facekeeper.api.deps import ServicesDep
from facekeeper.api.openapi import ADMIN_ERRORS

router = APIRouter(prefix="/admin/applications", tags=["admin: applications"], responses=ADMIN_ERRORS)


@router.get("", response_model=schemas.ApplicationsOut)
async def list_applications(session: SignedIn, services: ServicesDep) -> JSONResponse:
    """All applications for global owners and administrators; a user's own memberships otherwise."""
    views = await services.workers.database(services.applications.visible, session.account)
    return JSONResponse({"applications": [schemas.application_json(view) for view in views]})


@router.post("", status_code=201, response_model=schemas.ApplicationOut)
async def create_application(body: schemas.NameBody, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """Global owners and administrators; the creator becomes the application's owner."""
    view = await services.workers.database(services.applications.create, session.account, body.name)
    return JSONResponse(schemas.application_json(view), status_code=201)


@router.get("/{application_id}", response_model=schemas.ApplicationOut)
async def get_application(application_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    view = await services.workers.database(services.applications.get, session.account, application_id)
    return JSONResponse(schemas.application_json(view))


@router.patch("/{application_id}", response_model=schemas.ApplicationOut)
async def rename_application(
    application_id: str, body: schemas.NameBody, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """The application's owner."""
    view = await services.workers.database(services.applications.rename, session.account, application_id, body.name)
    return JSONResponse(schemas.application_json(view))


@router.delete("/{application_id}")
async def delete_application(application_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """The application's owner; its services, keys and collections go with it."""
    deleted = await services.workers.database(services.applications.delete, session.account, application_id)
    return JSONResponse(schemas.bare_application_json(deleted))


@router.get("/{application_id}/services", response_model=schemas.ServicesOut)
async def list_services(application_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    found = await services.workers.database(services.applications.services, session.account, application_id)
    return JSONResponse({"services": [schemas.service_json(service) for service in found]})


@router.post("/{application_id}/services", status_code=201, response_model=schemas.ServiceOut)
async def create_service(
    application_id: str, body: schemas.ServiceBody, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """The application's owner or administrators. `type`: RECOGNITION, DETECTION or VERIFY. The answer
    carries the new API key (a random UUID)."""
    created = await services.workers.database(
        services.applications.create_service, session.account, application_id, body.name, body.type
    )
    return JSONResponse(schemas.service_json(created), status_code=201)


@router.get("/{application_id}/members", response_model=schemas.MembersOut)
async def list_members(application_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    found = await services.workers.database(services.applications.members, session.account, application_id)
    return JSONResponse({"members": [schemas.member_json(member) for member in found]})


@router.post("/{application_id}/members", status_code=201, response_model=schemas.MemberOut)
async def add_member(
    application_id: str, body: schemas.MemberBody, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """The application's owner adds an existing account. Adding one as OWNER makes the previous owner an
    ADMINISTRATOR."""
    member = await services.workers.database(
        services.applications.add_member, session.account, application_id, body.email, body.role
    )
    return JSONResponse(schemas.member_json(member), status_code=201)


@router.put("/{application_id}/members/{account_id}", response_model=schemas.MemberOut)
async def set_member_role(
    application_id: str, account_id: str, body: schemas.RoleBody, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    member = await services.workers.database(
        services.applications.set_member_role, session.account, application_id, account_id, body.role
    )
    return JSONResponse(schemas.member_json(member))


@router.delete("/{application_id}/members/{account_id}", response_model=schemas.MemberOut)
async def remove_member(application_id: str, account_id: str, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """The owner removes a member (or a member leaves); access ends with this answer."""
    member = await services.workers.database(
        services.applications.remove_member, session.account, application_id, account_id
    )
    return JSONResponse(schemas.member_json(member))
