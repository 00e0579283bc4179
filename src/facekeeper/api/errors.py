"""Every error leaves as CompreFace's `{"message", "code"}` with the catalogue's HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from facekeeper.errors import Error, FacekeeperError


def error_response(error: FacekeeperError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.http_status)


async def _catalogued(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FacekeeperError)
    return error_response(exc)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = FacekeeperError(Error.NOT_FOUND_PATH, method=request.method, path=request.url.path)
    elif exc.status_code == 405:
        error = FacekeeperError(Error.METHOD_NOT_ALLOWED, method=request.method)
    elif exc.status_code == 400:  # e.g. a malformed multipart body
        error = FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{exc.detail}; ")
    else:
        return JSONResponse({"message": str(exc.detail), "code": 0}, status_code=exc.status_code)
    return error_response(error)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = "".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}; " for e in exc.errors())
    return error_response(FacekeeperError(Error.CONSTRAINT_VIOLATION, details=details))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FacekeeperError, _catalogued)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
