"""Requests with a raw path the test writes byte for byte.

httpx normalises `.` and `..` segments before sending, so attacks on path handling need a raw ASGI call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
from fastapi.testclient import TestClient
from starlette.types import Message


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


def http_scope(method: str, raw_path: str, headers: dict[str, str], content_length: int) -> dict[str, Any]:
    """An HTTP scope as a server builds it, the path exactly as given."""
    path, _, query = raw_path.encode("ascii").partition(b"?")
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": unquote(path.decode("ascii")),
        "raw_path": path,
        "root_path": "",
        "scheme": "http",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(content_length).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


def body_then_disconnect(body: bytes, gone: anyio.Event) -> Callable[[], Awaitable[Message]]:
    """An ASGI receive: the whole body at once, then `http.disconnect` once `gone` is set."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    return receive


def raw_request(
    client: TestClient, method: str, raw_path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> RawResponse:
    """One request to the app behind `client` (inside its `with` block), path sent exactly as given."""
    scope = http_scope(method, raw_path, headers or {}, len(body))
    sent: list[Message] = []

    async def call() -> None:
        done = anyio.Event()
        receive = body_then_disconnect(body, done)

        async def send(message: Message) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await client.app(scope, receive, send)

    assert client.portal is not None, "raw_request needs the TestClient's `with` block"
    client.portal.call(call)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return RawResponse(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content)
