"""`GET /metrics` in the Prometheus text format, unauthenticated like the health probes, and the middleware
that counts every request by route template (never by raw path: ids and API keys would make a series per
request)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facekeeper.api.deps import ServicesDep
from facekeeper.errors import Error
from facekeeper.services.bundle import Services

router = APIRouter(tags=["operations"])
UNMATCHED = "<unmatched>"


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(services: ServicesDep) -> Response:
    """Counters and histograms of this server (every worker's, with `--workers`), gauges read now."""
    body = await run_in_threadpool(services.metrics.render)  # the gauges read the database
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Innermost, so it sees the route the router matched. Answers given before routing by the outer
    middleware (413 for a body over the limit, CORS preflights) are in the access log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = Error.UNKNOWN.http_status  # what the last-resort guard answers if the app raises

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            services: Services | None = getattr(scope["app"].state, "services", None)
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            if services is not None:
                services.metrics.observe_request(scope["method"], template, status, time.perf_counter() - started)
