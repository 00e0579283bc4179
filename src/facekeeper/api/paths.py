"""Path parameters read from the raw path, one segment each, and the trailing-slash rule.

A decoded path cannot tell `%2F` (part of a name) from `/` (a separator), and a trailing `/` dropped
from `DELETE /subjects/` would turn "the subject with an empty name" into "every subject". Both are read
from the raw path here, so a route that names one thing acts on exactly that thing or answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import unquote_to_bytes

from fastapi import Depends, Request
from starlette.types import Scope

from facekeeper.errors import Error, FacekeeperError

# Set by the trailing-slash middleware on a request whose raw path ended with one literal `/`.
TRAILING_SLASH = "facekeeper.trailing_slash"


def raw_segments(scope: Scope) -> list[bytes]:
    """The percent-encoded segments of the path below the app's root path (the first is empty)."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    root = scope.get("root_path", "").encode()
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    return raw.split(b"/")


def _not_found(request: Request) -> FacekeeperError:
    shown = request.url.path + ("/" if request.scope.get(TRAILING_SLASH) else "")
    return FacekeeperError(Error.NOT_FOUND_PATH, method=request.method, path=shown)


def exact_path_param(request: Request, name: str) -> str:
    """Path parameter `name` as its one raw segment, percent-decoded: `bob%2F` is the name "bob/".

    A path with more segments than the route's template (a literal `/` inside what the router matched
    as one parameter) names no route: 404.
    """
    template = request.scope["route"].path_format.split("/")
    segments = raw_segments(request.scope)
    if len(segments) != len(template):
        raise _not_found(request)
    raw = segments[template.index("{" + name + "}")]
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{name}: the path is not UTF-8; ") from None


def path_param(name: str) -> Callable[[Request], str]:
    def read(request: Request) -> str:
        return exact_path_param(request, name)

    return read


async def _whole_collection(request: Request) -> None:
    """`DELETE /subjects/` is the subject with an empty name, not every subject: never widen a request."""
    if request.scope.get(TRAILING_SLASH):
        raise _not_found(request)


WholeCollection = Annotated[None, Depends(_whole_collection)]
