"""Accounts: `/admin/accounts` for the global owner and administrators, and the caller's own password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from facekeeper.api.admin import schemas
from facekeeper.api.admin.deps import SignedIn, clear_session_cookie, set_session_cookie
from facekeeper.api.deps import ServicesDep
from facekeeper.api.openapi import ADMIN_ERRORS
from facekeeper.services.applications import parse_role

router = APIRouter(prefix="/admin", tags=["admin: accounts"], responses=ADMIN_ERRORS)


@router.get("/accounts", response_model=schemas.AccountsOut)
async def list_accounts(session: SignedIn, services: ServicesDep) -> JSONResponse:
    """Every account (global owner and administrators only)."""
    found = await services.workers.database(services.accounts.list_for, session.account)
    return JSONResponse({"accounts": [schemas.account_json(account, with_created=True) for account in found]})


@router.post("/accounts", status_code=201, response_model=schemas.AccountOut)
async def create_account(body: schemas.AccountBody, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """Global owner and administrators; `role` OWNER (a transfer of ownership) by the owner only."""
    role = parse_role(body.role)
    created = await services.workers.database(
        services.accounts.create_for, session.account, body.email, body.password, role, body.name
    )
    return JSONResponse(schemas.account_json(created, with_created=True), status_code=201)


@router.put("/accounts/{account_id}/role", response_model=schemas.AccountOut)
async def set_account_role(
    account_id: str, body: schemas.RoleBody, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """Nobody changes their own role; making an account OWNER makes the previous owner ADMINISTRATOR."""
    role = parse_role(body.role)
    changed = await services.workers.database(services.accounts.set_role_for, session.account, account_id, role)
    return JSONResponse(schemas.account_json(changed, with_created=True))


@router.delete("/accounts/{account_id}", response_model=schemas.AccountOut)
async def delete_account(account_id: str, request: Request, session: SignedIn, services: ServicesDep) -> JSONResponse:
    """With its sessions and memberships; the owner cannot be deleted. Deleting oneself signs out."""
    deleted = await services.workers.database(services.accounts.delete_for, session.account, account_id)
    response = JSONResponse(schemas.account_json(deleted, with_created=True))
    if deleted.id == session.account.id:
        clear_session_cookie(response, request, services.settings)
    return response


@router.put("/session/password", response_model=schemas.SessionOut)
async def change_password(
    body: schemas.PasswordBody, request: Request, session: SignedIn, services: ServicesDep
) -> JSONResponse:
    """Checks the old password (code 18); every other session of the account ends, this browser gets a
    new session (and a new CSRF token) at once."""
    account = await services.workers.database(
        services.accounts.change_own_password, session.account, body.old_password, body.new_password
    )
    opened = await services.workers.database(services.sessions.open, account)
    response = JSONResponse(schemas.session_json(opened.session))
    set_session_cookie(response, request, services.settings, opened)
    return response
