"""The deployment files as data: compose.yaml, the Dockerfile, docker/nginx.conf and the entrypoint.

Docker cannot run where the tests run, so the tests check these files against the code (names, ports,
limits) and run what can run without Docker: the entrypoint script, and nginx with this configuration in
front of two real servers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
NGINX_CONF = ROOT / "docker" / "nginx.conf"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def replicas() -> dict[str, dict[str, Any]]:
    """The compose services that run Facekeeper (built from this repository)."""
    return {name: service for name, service in compose()["services"].items() if "build" in service}


def replica_environment() -> dict[str, str]:
    environments = [{k: str(v) for k, v in s["environment"].items()} for s in replicas().values()]
    assert all(env == environments[0] for env in environments), "replicas must be configured alike"
    return environments[0]


def dockerfile_instructions(name: str) -> list[str]:
    """Arguments of every `name` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [line.split(None, 1)[1].strip() for line in text.splitlines() if line.upper().startswith(name + " ")]


def dockerfile_environment() -> dict[str, str]:
    found: dict[str, str] = {}
    for arguments in dockerfile_instructions("ENV"):
        found.update(dict(pair.split("=", 1) for pair in arguments.split()))
    return found
