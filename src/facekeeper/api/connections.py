"""HTTP/1.1 limits below the ASGI app, where uvicorn sets none: header size, header time, connections.

uvicorn's httptools protocol accepts headers of any size (a 100 MiB header once held the event loop for
12 s) and waits forever for headers that trickle in one byte at a time (slowloris), so a few such
connections used to lock everyone out. This subclass answers, in the catalogue's JSON shape:
- 431 when a request line plus headers exceed `max_header_bytes`, without parsing the rest;
- 408 when a request's headers are not complete `header_timeout_s` after the connection became idle;
- 503 to a connection beyond `max_connections`, closed at once so file descriptors stay free.
The body is bounded by the ASGI layer (size: `BodyLimitMiddleware`, stalls: `DeadlineMiddleware`).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from facekeeper.api.errors import error_headers
from facekeeper.errors import Error, FacekeeperError

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int
    header_timeout_s: float
    max_connections: int


def http_response(error: FacekeeperError) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection."""
    body = json.dumps(error.body()).encode()
    lines = [
        b"HTTP/1.1 %d %s" % (error.http_status, _REASONS[error.http_status]),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        *(f"{name.lower()}: {value}".encode() for name, value in error_headers(error).items()),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def limited_protocol(limits: ConnectionLimits) -> Callable[..., HttpToolsProtocol]:
    """What to hand to `uvicorn.Config(http=...)`: a picklable factory, so `serve --workers N` can send it
    to its worker processes."""
    return functools.partial(LimitedHttpToolsProtocol, limits=limits)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _awaiting_headers = True  # from connection (or the end of a request) until a request's headers end
    _header_bytes = 0
    _header_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(FacekeeperError(Error.TOO_MANY_CONNECTIONS, limit=self.limits.max_connections))
            return
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        # Checked after parsing: one read may hold small headers and a large body.
        if self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes:
            self._refuse(FacekeeperError(Error.HEADERS_TOO_LARGE, limit=self.limits.max_header_bytes))

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        self._stop_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True  # what arrives next belongs to the next request's headers

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._start_header_timer()

    def _start_header_timer(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self.transport.is_closing():
            return
        if self._header_bytes == 0:  # an idle keep-alive connection: nothing to answer
            self.transport.close()
            return
        self._refuse(FacekeeperError(Error.HEADERS_TIMEOUT, limit_s=f"{self.limits.header_timeout_s:g}"))

    def _refuse(self, error: FacekeeperError) -> None:
        self._stop_header_timer()
        self._awaiting_headers = False
        if not self.transport.is_closing():
            self.transport.write(http_response(error))
            self.transport.close()
