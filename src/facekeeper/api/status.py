"""Unauthenticated helper routes of CompreFace's UI (§4.7)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from facekeeper.api import schemas
from facekeeper.api.deps import ServicesDep

router = APIRouter(prefix="/api/v1", tags=["status"])


@router.get("/config", response_model=schemas.ConfigResponse)
async def config(services: ServicesDep) -> JSONResponse:
    settings = services.settings
    return JSONResponse({"clientMaxFileSize": settings.max_file_size, "clientMaxBodySize": settings.max_request_size})


@router.get("/consistence/status", response_model=schemas.ConsistenceResponse)
async def consistence_status(services: ServicesDep) -> JSONResponse:
    state = await services.workers.database(services.status.consistency)
    return JSONResponse(
        {
            "demoFaceCollectionIsInconsistent": False,
            "dbIsInconsistent": state.db_is_inconsistent,
            "saveImagesToDB": state.save_images_to_db,
            "status": "OK",
        }
    )
