"""Shared fixtures: an app per test on SQLite in tmp_path, with fake models unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.domain import ServiceType
from facekeeper.services.bundle import Services
from tests.support import squares

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"


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
def api(tmp_path: Path) -> Iterator[Api]:
    """Fake square/colour models: fast, no weights."""
    with TestClient(create_app(squares.test_settings(data_dir=tmp_path), squares.registry())) as client:
        yield Api(client)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
