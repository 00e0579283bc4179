"""docker/entrypoint.sh run for real with the compose file's environment, against the local PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.deployment.conftest import ENTRYPOINT, dockerfile_environment, replica_environment
from tests.e2e.server import clean_env, free_port

pytestmark = [pytest.mark.slow, pytest.mark.models]


def container_env(data_dir: Path, database_url: str, port: int, **extra: str) -> dict[str, str]:
    """What a replica's process sees: the image's ENV, then compose's environment, with the database,
    data directory and port of this machine (and loopback instead of 0.0.0.0)."""
    env = clean_env() | dockerfile_environment() | replica_environment()
    env |= {
        "FACEKEEPER_DATABASE_URL": database_url,
        "FACEKEEPER_DATA_DIR": str(data_dir),
        "FACEKEEPER_PORT": str(port),
        "FACEKEEPER_HOST": "127.0.0.1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `facekeeper` as in the image
    }
    return env | extra


def entrypoint(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_entrypoint_migrates_serves_and_reports_ready(tmp_path: Path, postgres_url: str) -> None:
    port = free_port()
    env = container_env(tmp_path / "data", postgres_url, port)
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, body = time.monotonic() + 120, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                body = response.json()
                if response.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        assert body == {"status": "ready", "checks": {"database": "ok", "models": "ok"}}, (
            tmp_path / "server.log"
        ).read_text()
        assert entrypoint("healthcheck", env=env).returncode == 0
        created = entrypoint("service", "create", "--type", "recognition", "--name", "compose", "--json", env=env)
        assert created.returncode == 0, created.stderr
        key = json.loads(created.stdout)["api_key"]
        listed = requests.get(
            f"http://127.0.0.1:{port}/api/v1/recognition/subjects", headers={"x-api-key": key}, timeout=10
        )
        assert listed.json() == {"subjects": []}
        server.send_signal(signal.SIGTERM)  # the shell exec'd the server: the signal reaches it
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    assert entrypoint("healthcheck", env=env).returncode == 1


def test_the_entrypoint_waits_for_the_database_then_gives_up(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://facekeeper@127.0.0.1:{free_port()}/facekeeper"
    env = container_env(tmp_path / "data", dead, free_port(), DB_WAIT_SECONDS="8")
    started = time.monotonic()
    result = entrypoint(env=env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("facekeeper-entrypoint: waiting for the database: ")
    assert lines[-1].startswith("facekeeper-entrypoint: no usable database after 8 s: ")
    assert all("Error" in line for line in lines) and "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
