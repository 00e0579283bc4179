"""D5: POST /admin/services/{id}/migrate starts re-embedding a collection, GET reports its progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.inference.registry import ModelRegistry, default_registry
from tests.admin.conftest import CHEAP_HASHES, Admin
from tests.support import squares
from tests.support.squares import GREEN, RED, ColourEmbedder, one_face


class SwappedColourEmbedder(ColourEmbedder):
    version = "colours.Calculator@v2"

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        return super().embed(faces_rgb)[:, ::-1].copy()


def _registry() -> ModelRegistry:
    def add_v2(registry: ModelRegistry) -> None:
        registry.add_embedder("colours-v2", lambda _settings: SwappedColourEmbedder())

    return default_registry(extra_hooks=[squares.add_to, add_v2])


@pytest.fixture
def migrating(tmp_path: Path, database_url: str) -> Iterator[Admin]:
    settings = squares.test_settings(data_dir=tmp_path, database_url=database_url, **CHEAP_HASHES)
    with TestClient(create_app(settings, _registry())) as client:
        yield Admin(client)


def _wait_done(admin: Admin, service_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress: dict[str, Any] = admin.owner.ok("GET", f"/services/{service_id}/migrate")
        if progress["state"] in ("done", "failed"):
            return progress
        time.sleep(0.05)
    raise AssertionError(f"migration still {progress}")


def test_migrate_starts_reports_and_switches(migrating: Admin) -> None:
    admin = migrating
    service = admin.service(admin.application()["id"])
    files = [("file", ("r.png", one_face(RED), "image/png")), ("file", ("g.png", one_face(GREEN), "image/png"))]
    admin.owner.ok("POST", f"/services/{service['id']}/examples", data={"subject": "Ada"}, files=files)
    idle = admin.owner.ok("GET", f"/services/{service['id']}/migrate")
    assert (idle["state"], idle["embedder"], idle["total"]) == ("idle", "colours", 2)
    started = admin.owner.ok("POST", f"/services/{service['id']}/migrate", 202, json={"embedder": "colours-v2"})
    assert started["embedder"] == "colours-v2" and started["state"] in ("running", "done")
    done = _wait_done(admin, service["id"])
    assert (done["state"], done["done"], done["total"], done["error"]) == ("done", 2, 2, None)
    answer = admin.owner.client.post(
        "/api/v1/recognition/recognize",
        files={"file": ("q.png", one_face(RED), "image/png")},
        headers={"x-api-key": service["api_key"]},
    ).json()
    assert answer["result"][0]["subjects"][0]["subject"] == "Ada"  # recognised with the new vectors
    assert admin.owner.ok("GET", f"/services/{service['id']}")["embedder"] == "colours-v2"
    # an upload from the admin side is embedded by the collection's embedder, as the face API's is
    more = admin.owner.ok(
        "POST",
        f"/services/{service['id']}/examples",
        data={"subject": "Bob"},
        files={"file": ("b.png", one_face((0, 0, 250)), "image/png")},
    )
    assert more["results"][0]["status"] == 201, more
    faces = admin.owner.client.get("/api/v1/recognition/faces", headers={"x-api-key": service["api_key"]}).json()
    assert faces["total_elements"] == 3


def test_migrate_needs_administrators_and_a_known_embedder(migrating: Admin) -> None:
    admin = migrating
    app = admin.application()
    service = admin.service(app["id"])
    detection = admin.service(app["id"], "boxes", "DETECTION")
    user = admin.browser("u@example.com")
    admin.owner.ok("POST", f"/applications/{app['id']}/members", 201, json={"email": "u@example.com", "role": "USER"})
    assert user.ok("GET", f"/services/{service['id']}/migrate")["state"] == "idle"
    denied = user.post(f"/services/{service['id']}/migrate", json={"embedder": "colours-v2"})
    assert (denied.status_code, denied.json()["code"]) == (403, 1)
    unknown = admin.owner.post(f"/services/{service['id']}/migrate", json={"embedder": "nope"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, 0) and "nope" in unknown.json()["message"]
    wrong_type = admin.owner.post(f"/services/{detection['id']}/migrate", json={"embedder": "colours-v2"})
    assert wrong_type.status_code == 400
    assert admin.browser().post(f"/services/{service['id']}/migrate").status_code == 401
