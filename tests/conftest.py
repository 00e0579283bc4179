"""Shared fixtures: an app per test with fake models unless a test says otherwise, on each database backend:
SQLite in tmp_path, and PostgreSQL in a fresh schema per test (required under CI, skipped elsewhere when
no server answers)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from facekeeper.app import create_app
from facekeeper.domain import ServiceType
from facekeeper.services.bundle import Services
from facekeeper.storage.db import Database
from tests.support import squares

# Tests that import onnxruntime themselves must not leave its device id and event store in ~/.cache either.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

FIXTURES = Path(__file__).parent / "fixtures"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"  # tests/browser writes them
_run_started = time.time()
SHARED_FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"

POSTGRES_URL = os.environ.get("FACEKEEPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema per test, dropped afterwards."""
    engine = create_engine(POSTGRES_URL)
    schema = f"facekeeper_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as error:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required under CI: {error}")
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES_URL}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/facekeeper.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.upgrade()
    yield db
    db.dispose()


class Api:
    """A TestClient bound to one app, with keys for each service type."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.services: Services = client.app.state.services  # type: ignore[attr-defined]
        self.recognition_key = self.new_key(ServiceType.RECOGNITION, "rec")
        self.detection_key = self.new_key(ServiceType.DETECTION, "det")
        self.verification_key = self.new_key(ServiceType.VERIFICATION, "ver")

    def new_key(self, service_type: ServiceType, name: str) -> str:
        return self.services.api_keys.create(name, service_type).api_key

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"x-api-key": key or self.recognition_key}

    def enrol(self, subject: str, image: bytes, key: str | None = None) -> str:
        response = self.client.post(
            "/api/v1/recognition/faces",
            params={"subject": subject},
            files={"file": ("face.png", image, "image/png")},
            headers=self.headers(key),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["image_id"])


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    """Fake square/colour models: fast, no weights; on SQLite and on PostgreSQL."""
    settings = squares.test_settings(data_dir=tmp_path, database_url=database_url)
    with TestClient(create_app(settings, squares.registry())) as client:
        yield Api(client)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def pytest_sessionstart(session: pytest.Session) -> None:
    global _run_started
    _run_started = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Says where this run's browser screenshots are, so a person can look at them. Read from the directory,
    not from the tests: under `pytest -n` they were taken in worker processes."""
    taken = sorted(p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= _run_started)
    if taken:
        terminalreporter.section("browser screenshots")
        for path in taken:
            terminalreporter.write_line(os.path.relpath(path))
