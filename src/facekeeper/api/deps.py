"""Typed dependencies: the app's use cases and the API-key check of each CompreFace service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.services.bundle import Services


async def get_services(request: Request) -> Services:
    """`async` on purpose: FastAPI runs a plain `def` dependency in a worker thread, a hop per request."""
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def _service_of(required: ServiceType) -> Callable[[Request, Services], Awaitable[ServiceRecord]]:
    async def authenticate(request: Request, services: ServicesDep) -> ServiceRecord:
        api_key = request.headers.get("x-api-key")  # header names are case-insensitive here
        service = await services.workers.lookup(services.api_keys.authenticate, api_key, required)
        services.usage.count(service.id)  # requests per day for the admin's statistics (cheap, no I/O)
        return service

    return authenticate


RecognitionServiceDep = Annotated[ServiceRecord, Depends(_service_of(ServiceType.RECOGNITION))]
DetectionServiceDep = Annotated[ServiceRecord, Depends(_service_of(ServiceType.DETECTION))]
VerificationServiceDep = Annotated[ServiceRecord, Depends(_service_of(ServiceType.VERIFICATION))]
