"""The web UI: `GET /` answers the single page, `GET /ui/<file>` its modules, styles and icon.

The files are read once, when the app is built, from the package's `web/` folder, and served from memory
with a strong ETag. Only names found there are served (no path is ever joined from the request), each with
a content type chosen here rather than guessed from the platform's MIME tables, and every answer carries
the headers that make the page safe to open: a Content-Security-Policy without inline script, no framing,
no sniffing, and `no-cache` so a new release is picked up on the next load while an unchanged file costs
only a 304. No CORS header is added: the UI is same-origin only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request, Response

from facekeeper.errors import Error, FacekeeperError

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: shows the photo a person picked on the test page before it is sent anywhere.
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class WebAsset:
    body: bytes
    content_type: str
    etag: str


def load_assets(folder: Path) -> dict[str, WebAsset]:
    """Every servable file under `folder`, keyed by its path relative to it (`pages/test.js`)."""
    assets = {}
    for path in sorted(folder.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and content_type is not None:
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[path.relative_to(folder).as_posix()] = WebAsset(body, content_type, etag)
    return assets


def packaged_web_folder() -> Path:
    return Path(str(resources.files("facekeeper") / "web"))


def _answer(request: Request, asset: WebAsset) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.content_type, headers=headers)
    if request.method == "HEAD":
        response.headers["content-length"] = str(len(asset.body))
    return response


def web_router(folder: Path) -> APIRouter:
    """The UI's routes over the files in `folder` (the package's `web/` in production)."""
    assets = load_assets(folder)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def index(request: Request) -> Response:
        return _answer(request, assets["index.html"])

    @router.api_route("/ui/{name:path}", methods=["GET", "HEAD"])
    async def asset(name: str, request: Request) -> Response:
        found = assets.get(name)
        if found is None:
            raise FacekeeperError(Error.NOT_FOUND_PATH, method=request.method, path=request.url.path)
        return _answer(request, found)

    return router
