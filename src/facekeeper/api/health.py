"""`/healthz` and `/readyz`: unauthenticated probes for load balancers, compose and Kubernetes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from facekeeper.api.deps import ServicesDep

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]


class ReadinessChecks(BaseModel):
    database: str = Field(description='"ok", or why the database did not answer.')
    models: str = Field(description='"ok", "loading" (the first probe starts loading them), or why they failed.')


class ReadinessBody(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: ReadinessChecks


@router.get(
    "/healthz",
    response_model=Liveness,
    summary="Liveness: the process answers HTTP",
    description="Touches neither the database nor the models; restart the process only when this fails.",
)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=ReadinessBody,
    responses={503: {"model": ReadinessBody, "description": "Not ready: the failing check says why."}},
    summary="Readiness: the database answers and the models are loaded",
    description="Send traffic to this instance only while it answers 200. The database check has a 2 s deadline.",
)
async def readyz(services: ServicesDep) -> JSONResponse:
    readiness = await services.health.readiness()
    body = {
        "status": "ready" if readiness.ready else "unavailable",
        "checks": {"database": readiness.database, "models": readiness.models},
    }
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
