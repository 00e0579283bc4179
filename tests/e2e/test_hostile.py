"""Issue 9 against a real `facekeeper serve`: HTTP limits, log safety, start-up faults, SIGTERM bound.

Everything here talks raw sockets to a subprocess, because the protections live below the ASGI app
(uvicorn's protocol) or in the process itself (signals, exit codes, the log stream).
"""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.server import ServerFactory, ServerProcess, free_port, run_cli
from tests.e2e.test_operations import ALL_PLUGINS, enrol, large_group_photo, recognize

pytestmark = pytest.mark.slow
TIMEOUT = 30


def _connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Everything until the server closes; the status, the headers and the body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _config_answers_in(server: ServerProcess) -> float:
    started = time.monotonic()
    assert requests.get(f"{server.url}/api/v1/config", timeout=TIMEOUT).status_code == 200
    return time.monotonic() - started


@pytest.fixture(scope="module")
def limited(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.start(
        FACEKEEPER_HEADER_TIMEOUT_S="1.5",
        FACEKEEPER_BODY_TIMEOUT_S="1",
        FACEKEEPER_MAX_CONNECTIONS="6",
        FACEKEEPER_MAX_HEADER_BYTES="8192",
    )


# --------------------------------------------------------------------------- finding 5: HTTP limits


def test_oversized_headers_get_431_without_being_read(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /api/v1/config HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(64):  # 4 MiB of one header; the server stops reading after the limit
                sock.sendall(b"a" * 65536)
        except OSError:
            pass  # closed by the server: its answer is what counts
        status, headers, body = _read_answer(sock)
    assert status == 431
    assert json.loads(body) == {"message": "The request headers exceed the limit of 8192 bytes", "code": 0}
    assert headers["connection"] == "close"
    assert _config_answers_in(limited) < 5


def test_headers_that_trickle_in_get_408(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /api/v1/config HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(3):  # slowloris: a byte now and then resets no timer
            time.sleep(0.4)
            sock.sendall(b"X")
        status, _, body = _read_answer(sock)
    assert status == 408
    assert json.loads(body) == {"message": "The request headers did not arrive within 1.5 s", "code": 0}
    assert time.monotonic() - started < 10


def test_a_body_that_stalls_gets_408(limited: ServerProcess) -> None:
    key = limited.create_key("detection", "hostile-body")
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /api/v1/detection/detect HTTP/1.1\r\nHost: x\r\nx-api-key: "
            + key.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
        )
        status, _, body = _read_answer(sock)
    assert status == 408
    assert json.loads(body) == {"message": "The request body stalled for more than 1 s", "code": 0}


def test_connections_beyond_the_limit_are_refused_and_slowloris_cannot_lock_anyone_out(
    limited: ServerProcess,
) -> None:
    """Issue 9: with a low fd limit, 8 slowloris connections locked everyone out."""
    holders = [_connect(limited) for _ in range(6)]
    try:
        for sock in holders:
            sock.sendall(b"GET /api/v1/config HTTP/1.1\r\n")  # never finished
        time.sleep(0.3)
        with _connect(limited) as extra:
            status, headers, body = _read_answer(extra)
        assert status == 503
        assert headers["retry-after"] == "5"
        assert json.loads(body)["message"] == "Too many open connections (limit 6); try again later"
        time.sleep(2.5)  # the header timeout closes every slowloris connection
        assert _config_answers_in(limited) < 5
    finally:
        for sock in holders:
            sock.close()


# --------------------------------------------------------------------------- finding 8: the log


def test_a_newline_in_the_path_cannot_forge_a_log_line(limited: ServerProcess) -> None:
    forged = "FORGED 2026-01-01 INFO facekeeper.access: GET /admin 200 1.0ms"
    path = "/api/v1/nothing%0A" + forged.replace(" ", "%20")
    assert requests.get(f"{limited.url}{path}", timeout=TIMEOUT).status_code == 404
    time.sleep(0.3)
    lines = limited.stderr().splitlines()
    assert not any(line.startswith("FORGED") for line in lines)
    assert any("/api/v1/nothing\\x0aFORGED" in line for line in lines)


def test_a_client_gone_mid_body_is_one_line_without_traceback(limited: ServerProcess) -> None:
    key = limited.create_key("detection", "hostile-gone")
    before = len(limited.stderr().splitlines())
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /api/v1/detection/detect HTTP/1.1\r\nHost: x\r\nx-api-key: "
            + key.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
            + b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'
            + b"\xff" * 10_000
        )
        time.sleep(0.3)
    time.sleep(1.0)
    new = limited.stderr().splitlines()[before:]
    assert "Traceback" not in "\n".join(new)
    gone = [line for line in new if "POST /api/v1/detection/detect" in line]
    assert len(gone) == 1 and " 499 " in gone[0], new


# --------------------------------------------------------------------------- finding 7: start-up


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://facekeeper:s3cret-pass@127.0.0.1:{port}/facekeeper",
        "sqlite:////nonexistent-dir/sub/facekeeper.db",
        "not a database url",
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ("serve", "--port", "0"),
        ("service", "create", "--type", "detection", "--name", "x"),
        ("service", "list"),
        ("db", "upgrade"),
    ],
)
def test_an_unusable_database_is_one_line_before_anything_listens(
    url: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    database_url = url.format(port=free_port())
    result = run_cli(*command, "--data-dir", str(tmp_path), "--database-url", database_url, timeout=60)
    assert result.returncode == 6, (result.stdout, result.stderr)
    assert result.stdout == ""  # nothing claims to listen
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("facekeeper: Cannot use the database ")
    assert "s3cret-pass" not in result.stderr
    if url.startswith("postgresql"):
        assert "facekeeper:***@127.0.0.1" in lines[0]


# --------------------------------------------------------------------------- finding 2: SIGTERM


@pytest.mark.models
def test_sigterm_exits_within_its_bound_whatever_is_queued(server_factory: ServerFactory, tmp_path: Path) -> None:
    """Issue 9: queued slow work made SIGTERM take 56 s against a documented 30 s. Here 24 slow
    recognitions are queued on one inference worker (far more work than the bound) and the bound is 8 s.
    One worker, so the queue outlasts the first seconds even on the fastest runtime."""
    bound_s = 8.0
    victim = server_factory.start(FACEKEEPER_SHUTDOWN_TIMEOUT_S=str(bound_s), FACEKEEPER_INFERENCE_WORKERS="1")
    key = victim.create_key("recognition", "hostile-sigterm")
    enrol(victim.url, key, "Barack Obama", "obama_1.jpg")  # loads the models
    big = large_group_photo(tmp_path)

    def slow() -> int:
        try:
            return recognize(victim.url, key, big, face_plugins=ALL_PLUGINS).status_code
        except requests.ConnectionError:
            return 0  # cut off by the shutdown: expected for queued work

    with ThreadPoolExecutor(24) as pool:
        pending = [pool.submit(slow) for _ in range(24)]
        time.sleep(3.0)  # uploaded and queued
        assert sum(f.done() for f in pending) < len(pending) - 4, "too fast to be queued: make the work slower"
        sent_at = time.monotonic()
        victim.terminate()
        assert victim.process is not None
        status = victim.process.wait(timeout=60)
        took_s = time.monotonic() - sent_at
    assert status == 0
    # The bound, plus slack for a loaded machine finishing the two running model calls (old code: ~30 s).
    assert took_s < bound_s + 8, f"SIGTERM took {took_s:.1f} s"
    assert "Traceback" not in victim.stderr()
