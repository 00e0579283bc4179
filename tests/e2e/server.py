"""Real `facekeeper serve` subprocesses on free ports, keys made with the real CLI.

Every server runs with its own data directory, its stdout and stderr captured to files so tests can
assert on the log. Teardown sends SIGTERM and waits, so a server that does not stop is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FACES = FIXTURES / "faces"
GROUPS = FIXTURES / "groups"
NONFACE = FIXTURES / "nonface"

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """The outer environment must not configure the server under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEKEEPER_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def facekeeper_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "facekeeper", *args]


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        facekeeper_command(*args), capture_output=True, text=True, timeout=timeout, env=clean_env(), check=False
    )


@dataclass
class ServerProcess:
    """One running `facekeeper serve`; `stop()` is SIGTERM + wait."""

    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    issued_keys: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"server-{self.port}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"server-{self.port}.stderr"

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def access_lines(self) -> list[str]:
        return [line for line in self.stderr().splitlines() if "facekeeper.access" in line]

    def start(self) -> ServerProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = clean_env() | self.extra_env
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                facekeeper_command(
                    "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir)
                ),
                stdout=out,
                stderr=err,
                env=env,
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode} before answering:\n{self.stdout()}\n{self.stderr()}"
                )
            try:
                response = requests.get(f"{self.url}/api/v1/config", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {STARTUP_TIMEOUT}s:\n{self.stderr()}")

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """SIGTERM and wait; the exit code. Kills (and fails) a server that does not stop."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"server on port {self.port} ignored SIGTERM for {STOP_TIMEOUT}s") from None
        return self.process.returncode

    # CLI helpers on the same data directory

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--data-dir", str(self.data_dir))

    def cli_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.returncode == 0, f"facekeeper {' '.join(args)} failed: {result.stderr}"
        return json.loads(result.stdout)

    def create_key(self, service_type: str, name: str) -> str:
        created = self.cli_json("service", "create", "--type", service_type, "--name", name)
        assert created["type"] == service_type and created["name"] == name
        self.issued_keys.append(str(created["api_key"]))
        return str(created["api_key"])

    def regenerate_key(self, service: str) -> str:
        changed = self.cli_json("service", "regenerate-key", service)
        self.issued_keys.append(str(changed["api_key"]))
        return str(changed["api_key"])


class ServerFactory:
    """Starts servers on demand and stops every one of them at teardown."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: list[ServerProcess] = []

    def start(self, data_dir: Path | None = None, **extra_env: str) -> ServerProcess:
        index = len(self.servers)
        server = ServerProcess(
            data_dir=data_dir or self.base / f"data-{index}", log_dir=self.base / "logs", extra_env=extra_env
        )
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> None:
        failures = []
        for server in self.servers:
            if server.process is None:
                continue
            try:
                server.stop()
            except AssertionError as error:
                failures.append(str(error))
        assert not failures, failures


def face(name: str) -> Path:
    return FACES / name


def multipart_image(path: Path, part: str = "file") -> dict[str, tuple[str, bytes, str]]:
    return {part: (path.name, path.read_bytes(), "image/jpeg")}
