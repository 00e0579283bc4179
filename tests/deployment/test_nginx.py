"""docker/nginx.conf run by a real nginx in front of two real Facekeeper servers on one PostgreSQL database:
requests reach both replicas, a write through one is read through the other, a large body gets
Facekeeper's JSON error, and a stopped replica is skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.deployment.conftest import NGINX_CONF, replicas
from tests.e2e.server import ServerProcess, free_port, run_cli

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def local_config(servers: list[ServerProcess], port: int, logs: Path) -> str:
    """The compose configuration with this machine's addresses: the replicas' names become their ports here,
    the balancer listens on a free loopback port, and logs go to files."""
    conf = NGINX_CONF.read_text()
    for name, server in zip(sorted(replicas()), servers, strict=True):
        conf = conf.replace(f"server {name}:8000", f"server 127.0.0.1:{server.port}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("error_log /dev/stderr warn;", f"error_log {logs / 'error.log'} warn;")
    return conf.replace("access_log /dev/stdout;", f"access_log {logs / 'access.log'};")


@pytest.fixture
def balanced(tmp_path: Path, postgres_url: str) -> Iterator[tuple[str, list[ServerProcess]]]:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light); docker/nginx.conf not run")
    env = {"FACEKEEPER_DATABASE_URL": postgres_url}
    servers = [
        ServerProcess(data_dir=tmp_path / f"replica-{n}", log_dir=tmp_path / "logs", extra_env=env) for n in (1, 2)
    ]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for server in servers:
            server.start()
        port = free_port()
        (tmp_path / "nginx.conf").write_text(local_config(servers, port, tmp_path))
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", f"pid {tmp_path}/t.pid;"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(tmp_path),
                "-c",
                str(tmp_path / "nginx.conf"),
                "-g",
                f"pid {tmp_path}/nginx.pid; daemon off;",
            ]
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/nginx-healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url, servers
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=15)
        for server in servers:
            if server.process is not None:
                server.stop()


def test_nginx_spreads_requests_over_replicas_that_share_the_database(
    balanced: tuple[str, list[ServerProcess]], postgres_url: str
) -> None:
    url, servers = balanced
    created = run_cli(
        "service",
        "create",
        "--type",
        "recognition",
        "--name",
        "lb",
        "--json",
        "--database-url",
        postgres_url,
        "--data-dir",
        str(servers[0].data_dir),
    )
    assert created.returncode == 0, created.stderr
    headers = {"x-api-key": json.loads(created.stdout)["api_key"]}

    assert requests.get(f"{url}/readyz", timeout=30).status_code in (200, 503)  # answered by a replica
    for n in range(6):
        added = requests.post(
            f"{url}/api/v1/recognition/subjects", json={"subject": f"s{n}"}, headers=headers, timeout=10
        )
        assert added.status_code == 201, added.text
        for _ in range(2):  # each write is seen whichever replica answers next
            listed = requests.get(f"{url}/api/v1/recognition/subjects", headers=headers, timeout=10)
            assert f"s{n}" in listed.json()["subjects"]
    served = [len([line for line in s.access_lines() if "/api/v1/recognition/subjects" in line]) for s in servers]
    assert all(count > 0 for count in served), served

    too_large = requests.post(
        f"{url}/api/v1/recognition/faces?subject=x",
        data=b"\0" * (10 * 1024 * 1024 + 512 * 1024),
        headers={**headers, "content-type": "application/octet-stream"},
        timeout=30,
    )
    assert too_large.status_code == 413
    assert too_large.json()["code"] == 0  # Facekeeper's CompreFace-format answer, not nginx's HTML page

    servers[0].stop()
    for _ in range(6):
        listed = requests.get(f"{url}/api/v1/recognition/subjects", headers=headers, timeout=10)
        assert listed.status_code == 200 and len(listed.json()["subjects"]) == 6
