"""Pure ASGI middleware for what CompreFace's gateway (nginx) did around the API.

Pure ASGI rather than BaseHTTPMiddleware so request bodies stream through untouched and the limits
apply while a chunked upload is still arriving.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facekeeper.api.deadlines import CLIENT_GONE
from facekeeper.api.errors import send_json
from facekeeper.api.paths import TRAILING_SLASH
from facekeeper.errors import Error, FacekeeperError
from facekeeper.logs import escape_controls

access_log = logging.getLogger("facekeeper.access")
CLIENT_CLOSED_REQUEST = 499  # nginx's status for "the client went away before the answer"
error_log = logging.getLogger("facekeeper.errors")

_CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS, PUT, DELETE"),
    (
        b"access-control-allow-headers",
        b"DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,x-api-key",
    ),
]
# The static image route carries an API key in its path; the log shows only its first 8 characters.
_KEY_IN_PATH = re.compile(r"(/api/v1/static/)([^/]{8})[^/]*")


class CorsMiddleware:
    """D13: `Access-Control-Allow-Origin: *` on every /api/v1/ answer; OPTIONS answered 204 here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            headers = [*_CORS_HEADERS, (b"access-control-max-age", b"1728000"), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_CORS_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_cors)


class AdminHeadersMiddleware:
    """Admin answers hold keys and personal data: no cache may keep them, no browser may sniff them.
    (No CORS header is ever added under /admin: the face API's `*` stops at /api/v1/.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/admin"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLogMiddleware:
    """One line per request, and the last resort that turns any unexpected failure into a JSON 400
    (CompreFace's code 0) instead of a 500 or a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = escape_controls(_KEY_IN_PATH.sub(r"\1\2…", scope["path"]))
        try:
            await self.app(scope, receive, recording_send)
        except ClientDisconnect:
            scope[CLIENT_GONE] = True  # mid-body: nobody to answer, nothing to report but the line below
        except Exception:
            error_log.exception("unhandled error on %s %s", scope["method"], path)
            if status == 0:
                status = Error.UNKNOWN.http_status
                await send_json(send, status, FacekeeperError(Error.UNKNOWN).body())
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            if status == 0 and scope.get(CLIENT_GONE):
                status = CLIENT_CLOSED_REQUEST
            access_log.info("%s %s %d %.1fms", escape_controls(scope["method"]), path, status, elapsed_ms)


class HeadMiddleware:
    """HEAD is GET without the body, on every GET route (FastAPI registers GET alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class BodyLimitMiddleware:
    """D4: a body over `max_request_size` gets 413, whether it declares its length or arrives chunked."""

    def __init__(self, app: ASGIApp, max_request_size: int) -> None:
        self.app = app
        self.limit = max_request_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await send_json(send, 413, FacekeeperError(Error.REQUEST_TOO_LARGE, limit=self.limit).body())
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise FacekeeperError(Error.REQUEST_TOO_LARGE, limit=self.limit)
            return message

        await self.app(scope, counting_receive, send)


class TrailingSlashMiddleware:
    """Every CompreFace route also answers with one trailing `/`, read from the raw path: `%2F` is part
    of a name, not a slash, and `//` keeps its empty segment. The request is marked, so a route that
    would act on a whole collection refuses the slashed spelling (see `api/paths.py`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw: bytes = scope.get("raw_path") or scope["path"].encode()
            if len(raw) > 1 and raw.endswith(b"/") and scope["path"].endswith("/"):
                scope = dict(scope)
                scope["raw_path"] = raw[:-1]
                scope["path"] = scope["path"][:-1]
                scope[TRAILING_SLASH] = True
        await self.app(scope, receive, send)
