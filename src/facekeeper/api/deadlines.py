"""Every request has a deadline, a stalled body is cut off, and work whose client has gone is dropped.

The app runs in a child task that is cancelled when the deadline (`request_timeout_s`) passes or when the
client disconnects. Cancelling it cancels its awaits on the inference and database pools, which drops the
work still queued there (`workers.py`): two abandoned uploads no longer make everyone else wait.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facekeeper.api.errors import send_error
from facekeeper.errors import Error, FacekeeperError

# Set in the scope when the client went away before the answer: the access log says so (nginx's 499).
CLIENT_GONE = "facekeeper.client_gone"


class DeadlineMiddleware:
    def __init__(self, app: ASGIApp, request_timeout_s: float, body_timeout_s: float) -> None:
        self.app = app
        self.request_timeout_s = request_timeout_s
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gone = asyncio.Event()
        body_done = False
        answered = False
        watcher: asyncio.Task[None] | None = None

        async def watch_disconnect() -> None:
            # After the body the server's receive() returns only when the client disconnects (or the
            # answer is complete): waiting on it is how a gone client is noticed while work is queued.
            if (await receive())["type"] == "http.disconnect":
                gone.set()

        async def guarded_receive() -> Message:
            nonlocal body_done, watcher
            if body_done:
                await gone.wait()
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                raise FacekeeperError(Error.BODY_TIMEOUT, limit_s=f"{self.body_timeout_s:g}") from None
            if message["type"] == "http.disconnect":
                gone.set()
            elif not message.get("more_body", False):
                body_done = True
                watcher = asyncio.create_task(watch_disconnect())
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        app: asyncio.Task[None] = asyncio.create_task(_run(self.app, scope, guarded_receive, guarded_send))
        client_left = asyncio.create_task(gone.wait())
        try:
            try:
                await asyncio.wait(
                    {app, client_left}, timeout=self.request_timeout_s, return_when=asyncio.FIRST_COMPLETED
                )
            except asyncio.CancelledError:
                # The server cancels what is still running when its graceful shutdown time is up: answer
                # instead of leaving a traceback per request in the log.
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                app.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await app
                if not answered:
                    await send_error(send, FacekeeperError(Error.SHUTTING_DOWN))
                return
            if app.done():
                app.result()  # re-raise what the app raised, for the last-resort handler
                return
            app.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await app
            if gone.is_set():
                scope[CLIENT_GONE] = True
            elif not answered:
                error = FacekeeperError(Error.REQUEST_TIMEOUT, limit_s=f"{self.request_timeout_s:g}")
                await send_error(send, error)
        finally:
            client_left.cancel()
            if watcher is not None:
                watcher.cancel()


async def _run(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    await app(scope, receive, send)
