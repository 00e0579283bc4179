"""First owner and sign-in: `/admin/setup` and `/admin/session`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from facekeeper.api.admin import schemas
from facekeeper.api.admin.deps import (
    SESSION_COOKIE,
    SignedIn,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from facekeeper.api.deps import ServicesDep
from facekeeper.api.openapi import ADMIN_ERRORS
from facekeeper.api.schemas import ErrorBody

router = APIRouter(prefix="/admin", tags=["admin: sign-in"], responses=ADMIN_ERRORS)


@router.get("/setup", response_model=schemas.SetupState)
async def setup_state(services: ServicesDep) -> JSONResponse:
    """Whether the server has an owner yet (no session needed): the UI shows sign-up or sign-in."""
    return JSONResponse({"owner_exists": await services.workers.database(services.accounts.owner_exists)})


_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many failed attempts: wait Retry-After seconds"}
}


@router.post(
    "/setup",
    status_code=201,
    response_model=schemas.SessionOut,
    responses={**_LIMITED, 409: {"model": ErrorBody, "description": "The server has an owner already"}},
)
async def create_owner(body: schemas.SetupBody, request: Request, services: ServicesDep) -> JSONResponse:
    """The first sign-up, with the one-time setup code printed in the server's start-up output; it
    becomes the owner and is signed in. Refused (409) once an owner exists; wrong codes are rate-limited."""
    opened = await services.workers.database(
        services.sessions.sign_up_owner, body.setup_code, body.email, body.password, body.name, client_address(request)
    )
    response = JSONResponse(schemas.session_json(opened.session), status_code=201)
    set_session_cookie(response, request, services.settings, opened)
    return response


@router.get("/session", response_model=schemas.SessionOut)
async def current_session(session: SignedIn) -> JSONResponse:
    """The signed-in account and the CSRF token (a reloaded page gets it back here)."""
    return JSONResponse(schemas.session_json(session))


@router.post("/session", response_model=schemas.SessionOut, responses=_LIMITED)
async def sign_in(body: schemas.SignInBody, request: Request, services: ServicesDep) -> JSONResponse:
    """Sets the HttpOnly session cookie. After `admin_login_attempts` failures in the window (per email
    and per client address): 429 with Retry-After."""
    opened = await services.workers.database(
        services.sessions.sign_in, body.email, body.password, client_address(request)
    )
    response = JSONResponse(schemas.session_json(opened.session))
    set_session_cookie(response, request, services.settings, opened)
    return response


@router.delete("/session", status_code=204, response_class=Response)
async def sign_out(session: SignedIn, request: Request, services: ServicesDep) -> Response:
    await services.workers.database(services.sessions.close, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    clear_session_cookie(response, request, services.settings)
    return response
