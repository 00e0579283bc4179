"""The admin REST API under /admin/ (docs/admin.md): thin routers over services/accounts.py,
services/sessions.py and services/applications.py, and the face API's own collection use cases."""

from __future__ import annotations

from fastapi import APIRouter

from facekeeper.api.admin import accounts, applications, collection, embedders, services, session


def admin_router() -> APIRouter:
    router = APIRouter()
    for module in (session, accounts, applications, services, embedders, collection):
        router.include_router(module.router)
    return router
