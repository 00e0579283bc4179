"""The admin API's session check, CSRF check and cookie, as FastAPI dependencies and helpers."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from facekeeper.api.deps import ServicesDep
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.sessions import AdminSession, OpenedSession
from facekeeper.settings import Settings

SESSION_COOKIE = "facekeeper_session"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/admin"
SAFE_METHODS = frozenset({"GET", "HEAD"})


async def signed_in(request: Request, services: ServicesDep) -> AdminSession:
    """401 without a live session; 403 when a state-changing call lacks the session's CSRF token.

    The cookie is SameSite=Strict already; the token is the second lock, for browsers or proxies that
    do not honour SameSite, and it cannot be read by another site (it is never in a cookie).
    """
    token = request.cookies.get(SESSION_COOKIE)
    session = await services.workers.database(services.sessions.resolve, token) if token else None
    if session is None:
        raise FacekeeperError(Error.NOT_SIGNED_IN)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise FacekeeperError(Error.CSRF_FAILED)
    return session


SignedIn = Annotated[AdminSession, Depends(signed_in)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def secure_cookie(request: Request, settings: Settings) -> bool:
    if settings.admin_secure_cookie is not None:
        return settings.admin_secure_cookie
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, settings: Settings, opened: OpenedSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(settings.admin_session_hours * 3600),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure_cookie(request, settings)
    )
