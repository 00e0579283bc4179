"""`GET /admin/embedders`: what a collection can be re-embedded with (D5), so a client need not know the
server's models or the operator's manifests."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from facekeeper.api.admin import schemas
from facekeeper.api.admin.deps import SignedIn
from facekeeper.api.deps import ServicesDep
from facekeeper.api.openapi import ADMIN_ERRORS

router = APIRouter(prefix="/admin", tags=["admin: services"], responses=ADMIN_ERRORS)


@router.get("/embedders", response_model=schemas.EmbeddersOut)
async def list_embedders(_session: SignedIn, services: ServicesDep) -> JSONResponse:
    """Every embedder name this server accepts for `POST /admin/services/{id}/migrate`, each with its
    `-flip` variant, and the one new collections are built with. Any signed-in account."""
    return JSONResponse({"embedders": services.migration.embedders(), "default": services.settings.embedder})
