"""`facekeeper serve`: checks that fail with one line instead of a traceback, then uvicorn: in this process,
or with `--workers N` in N worker processes sharing the listening socket (uvicorn's supervisor restarts
one that dies). Workers share nothing but the database: each holds its own collections and follows the
change log like any other process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from threadpoolctl import threadpool_limits
from uvicorn.supervisors import Multiprocess

from facekeeper.api.connections import ConnectionLimits, limited_protocol
from facekeeper.app import build_services, create_app
from facekeeper.cli.preflight import check_data_dir
from facekeeper.logs import configure_logging
from facekeeper.services.accounts import AccountService
from facekeeper.services.passwords import Passwords
from facekeeper.settings import Settings
from facekeeper.storage.db import Database

# prometheus-client decides at import whether metrics go to shared files; workers are spawned, so they
# import it after this is set.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


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


def limit_blas_threads() -> None:
    """One thread for numpy's BLAS and any OpenMP pool: a collection scan must never take the core an
    inference worker needs (OpenBLAS starts one thread per core, and from 10k examples up a recognize
    then used twice the CPU for the same wall time). Inference sets its own threads (`onnx_threads`)."""
    threadpool_limits(limits=1, user_api="blas")
    threadpool_limits(limits=1, user_api="openmp")


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


def worker_app() -> FastAPI:
    """The app of one worker process, from the settings its parent put in the environment."""
    settings = Settings()
    configure_logging(settings.log_level)
    limit_blas_threads()
    return create_app(settings)


def _export_settings(settings: Settings) -> None:
    """Workers are new interpreters: hand them the parent's settings (command line included) as the
    environment variables they read anyway."""
    for name, value in settings.model_dump(mode="json").items():
        variable = f"FACEKEEPER_{name.upper()}"
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value if isinstance(value, str) else json.dumps(value)


# What uvicorn's graceful shutdown leaves of `shutdown_timeout_s` for the model calls already running
# (each bounded by the decode limits; a 40 MP image takes ~1-2 s on these cores).
RUNNING_WORK_RESERVE_S = 5.0


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    check_data_dir(settings)
    limit_blas_threads()
    services = None
    if settings.workers > 1:
        db = Database(settings.resolved_database_url)
        db.upgrade()  # once, before the workers race to it
    else:
        services = build_services(settings)
        db = services.db
    # Before listening: the code is in the database by the time anyone can reach the sign-up page.
    setup_code = AccountService(db, Passwords()).issue_setup_code()
    if services is None:
        db.dispose()
    # Either way the database has been opened and migrated before anything claims to listen.
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = "localhost" if settings.host in ("0.0.0.0", "::") else host
    print(f"Facekeeper listening on http://{shown}:{port} (bound to {host}, data in {settings.data_dir.resolve()})")
    print(f"Web UI: http://{shown}:{port}/ (sign in; applications, services and keys, face collections, test pages)")
    print(f"API docs: http://{shown}:{port}/docs")
    print(
        f"Create an API key: {_command_name()} service create --type recognition --name my-service "
        f"--data-dir {settings.data_dir}",
        flush=True,
    )
    if setup_code is not None:
        print(
            f"No owner account yet: open http://{shown}:{port}/ and sign up with the setup code {setup_code} "
            f"(valid until the next start; or run: {_command_name()} admin create-owner --email YOU "
            f"--data-dir {settings.data_dir})",
            flush=True,
        )
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    limits = ConnectionLimits(settings.max_header_bytes, settings.header_timeout_s, settings.max_connections)
    options = {
        "http": limited_protocol(limits),
        "log_level": settings.log_level.lower(),
        "access_log": False,  # Facekeeper logs each request itself, with API keys masked
        # In-flight requests get this long; then they are cancelled, queued work is dropped, and the
        # running model calls finish within the reserve: the process is gone within shutdown_timeout_s.
        "timeout_graceful_shutdown": max(0, int(settings.shutdown_timeout_s - RUNNING_WORK_RESERVE_S)),
        "log_config": None,
    }
    if services is not None:
        app = create_app(settings, services=services)
        _Server(uvicorn.Config(app, **options)).run(sockets=[sock])  # type: ignore[arg-type]
        return 0
    _export_settings(settings)
    metrics_dir = tempfile.mkdtemp(prefix="facekeeper-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = metrics_dir
    try:
        config = uvicorn.Config(
            "facekeeper.cli.serve:worker_app",
            factory=True,
            workers=settings.workers,
            **options,  # type: ignore[arg-type]
        )
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
