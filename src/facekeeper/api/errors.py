"""Every error leaves as CompreFace's `{"message", "code"}` with the catalogue's HTTP status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Send

from facekeeper.errors import Error, FacekeeperError

# A 503 is the server's trouble, not the client's: say when trying again makes sense.
RETRY_AFTER_S = 5


def error_headers(error: FacekeeperError) -> dict[str, str]:
    if error.http_status == 429:  # the catalogue's message says how long; the header says it to machines
        return {"Retry-After": str(error.values.get("retry_after", RETRY_AFTER_S))}
    return {"Retry-After": str(RETRY_AFTER_S)} if error.http_status == 503 else {}


def error_response(error: FacekeeperError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error.body(), status_code=error.http_status, headers={**error_headers(error), **(headers or {})}
    )


async def send_json(send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """An answer from below the routers (pure ASGI middleware), in the same JSON shape."""
    payload = json.dumps(body).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*start_headers, *headers]})
    await send({"type": "http.response.body", "body": payload})


async def send_error(send: Send, error: FacekeeperError) -> None:
    headers = [(name.lower().encode(), value.encode()) for name, value in error_headers(error).items()]
    await send_json(send, error.http_status, error.body(), headers)


async def _catalogued(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FacekeeperError)
    return error_response(exc)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = FacekeeperError(Error.NOT_FOUND_PATH, method=request.method, path=request.url.path)
    elif exc.status_code == 405:
        error = FacekeeperError(Error.METHOD_NOT_ALLOWED, method=request.method)
        return error_response(error, {"Allow": ", ".join(allowed_methods(request))})
    elif exc.status_code == 400:  # e.g. a malformed multipart body
        error = FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{exc.detail}; ")
    else:
        return JSONResponse({"message": str(exc.detail), "code": 0}, status_code=exc.status_code, headers=exc.headers)
    return error_response(error)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette's own `Allow` names one route's only)."""
    methods: set[str] = set()
    probe = dict(request.scope)
    for route in request.app.router.routes:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            probe["method"] = method
            if route.matches(probe)[0] is Match.FULL:
                methods.add(method)
    if "GET" in methods:
        methods.add("HEAD")
    if request.url.path.startswith("/api/v1/"):
        methods.add("OPTIONS")  # answered by the CORS layer (D13)
    return sorted(methods)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = "".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}; " for e in exc.errors())
    return error_response(FacekeeperError(Error.CONSTRAINT_VIOLATION, details=details))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FacekeeperError, _catalogued)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
