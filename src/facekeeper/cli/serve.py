"""`facekeeper serve`: checks that fail with one line instead of a traceback, then uvicorn."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from facekeeper.app import create_app
from facekeeper.cli.preflight import check_data_dir
from facekeeper.settings import Settings


def bind(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn, so a busy port is one clear line and there is no race."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it,
    # Nagle's algorithm and the client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        print(f"facekeeper: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        raise SystemExit(3) from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal it caught once shutdown is done, so the process would die of its own
    SIGTERM (exit 143) or print a KeyboardInterrupt traceback on Ctrl+C. A finished graceful shutdown is
    a normal exit: forget the captured signals before uvicorn replays them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Alembic narrates every start-up ("Context impl SQLiteImpl"); only its problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _command_name() -> str:
    """How the user can call this CLI again: `.venv/bin/facekeeper` after `make run`, not a bare name
    that may not be on their PATH."""
    invoked = Path(sys.argv[0])
    if invoked.name == "facekeeper" and invoked.is_file():
        return (
            os.path.relpath(invoked)
            if not invoked.is_absolute() or invoked.is_relative_to(Path.cwd())
            else str(invoked)
        )
    return "facekeeper"


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    check_data_dir(settings)  # migrations run once, when the app builds its services
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = "localhost" if settings.host in ("0.0.0.0", "::") else host
    print(f"Facekeeper listening on http://{shown}:{port} (bound to {host}, data in {settings.data_dir.resolve()})")
    print(f"API docs: http://{shown}:{port}/docs")
    print(
        f"Create an API key: {_command_name()} service create --type recognition --name my-service "
        f"--data-dir {settings.data_dir}",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level.lower(),
        access_log=False,  # Facekeeper logs each request itself, with API keys masked
        timeout_graceful_shutdown=30,
        log_config=None,
    )
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    _Server(config).run(sockets=[sock])
    return 0
