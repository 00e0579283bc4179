"""The probes: unauthenticated, JSON, 503 with the failing check when not ready, described in OpenAPI."""

from __future__ import annotations

import time

from facekeeper.services.health import HealthService
from facekeeper.storage.db import Database
from tests.conftest import Api
from tests.e2e.server import free_port


def ready_response(api: Api) -> tuple[int, dict[str, object]]:
    deadline = time.monotonic() + 5
    while True:
        response = api.client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response.status_code, response.json()
        time.sleep(0.02)


def test_healthz_needs_no_key(api: Api) -> None:
    response = api.client.get("/healthz", headers={"x-api-key": "not-a-key"})
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_once_the_models_are_loaded(api: Api) -> None:
    assert ready_response(api) == (200, {"status": "ready", "checks": {"database": "ok", "models": "ok"}})


def test_readyz_answers_503_with_the_reason(api: Api) -> None:
    ready_response(api)
    dead = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")
    api.services.health = HealthService(
        dead, api.services.pipeline, api.services.workers.inference_pool, models_loaded=True
    )
    try:
        response = api.client.get("/readyz")
    finally:
        dead.dispose()
    body = response.json()
    assert response.status_code == 503 and response.headers["content-type"] == "application/json"
    assert body["status"] == "unavailable" and body["checks"]["models"] == "ok"
    assert body["checks"]["database"].startswith("OperationalError: ")


def test_probes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert set(paths["/healthz"]) == {"get"}
    assert {"200", "503"} <= set(paths["/readyz"]["get"]["responses"])
    assert "security" not in paths["/readyz"]["get"]
