"""D5: POST /admin/services/{id}/migrate starts re-embedding a collection, GET reports its progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.inference.registry import ModelRegistry, default_registry
from tests.admin.conftest import CHEAP_HASHES, OWNER_EMAIL, Admin, Browser
from tests.support import squares
from tests.support.manifests import write_manifest
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


class GatedColourEmbedder(SwappedColourEmbedder):
    """Holds every embedding until the test opens the gate: a run stays mid-way as long as needed."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        assert self.gate.wait(30), "the test never opened the gate"
        return super().embed(faces_rgb)


def test_one_run_per_collection_across_two_servers(tmp_path: Path, database_url: str) -> None:
    """Two apps on one database (two `serve --workers` processes, or two hosts): a run started through one
    is `running` through the other, which refuses a second with code 27; once it ends, the other starts."""
    gate = threading.Event()

    def registry() -> ModelRegistry:
        def add_gated(registry: ModelRegistry) -> None:
            registry.add_embedder("colours-v2", lambda _settings: GatedColourEmbedder(gate))

        return default_registry(extra_hooks=[squares.add_to, add_gated])

    def settings(name: str) -> Any:
        return squares.test_settings(data_dir=tmp_path / name, database_url=database_url, **CHEAP_HASHES)

    with (
        TestClient(create_app(settings("one"), registry())) as one_client,
        TestClient(create_app(settings("two"), registry())) as two_client,
    ):
        try:
            one = Admin(one_client)
            two = Browser(two_client.app)
            assert two.sign_in(OWNER_EMAIL).status_code == 200
            service = one.service(one.application()["id"])
            files = [("file", ("r.png", one_face(RED), "image/png")), ("file", ("g.png", one_face(GREEN), "image/png"))]
            one.owner.ok("POST", f"/services/{service['id']}/examples", data={"subject": "Ada"}, files=files)
            path = f"/services/{service['id']}/migrate"
            started = one.owner.ok("POST", path, 202, json={"embedder": "colours-v2"})
            assert (started["state"], started["embedder"], started["total"]) == ("running", "colours-v2", 2)

            seen = two.ok("GET", path)
            assert (seen["state"], seen["embedder"], seen["done"], seen["total"]) == ("running", "colours-v2", 0, 2)
            refused = two.post(path, json={"embedder": "colours-v2"})
            assert (refused.status_code, refused.json()) == (
                400,
                {"code": 27, "message": f"A migration of service {service['name']} is already running"},
            )
            assert one.owner.post(path, json={"embedder": "colours"}).json()["code"] == 27  # and in its own process
        finally:
            gate.set()
        deadline = time.monotonic() + 30
        while (seen := two.ok("GET", path))["state"] == "running":
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)
        assert (seen["state"], seen["embedder"], seen["done"], seen["total"]) == ("idle", "colours-v2", 2, 2)
        assert two.ok("POST", path, 202, json={"embedder": "colours"})["state"] in ("running", "done")
        deadline = time.monotonic() + 30
        while (back := one.owner.ok("GET", path))["state"] == "running":
            assert time.monotonic() < deadline, back
            time.sleep(0.05)
        assert (back["state"], back["embedder"]) == ("idle", "colours")


def test_the_embedders_a_collection_can_switch_to_are_listed(tmp_path: Path, database_url: str) -> None:
    """Registered models and the operator's manifests, each with its -flip variant; the unknown-name error
    lists the same names. Any signed-in account may read it; nobody else."""
    manifest = write_manifest(tmp_path)
    settings = squares.test_settings(
        data_dir=tmp_path, database_url=database_url, embedder_manifests=str(manifest), **CHEAP_HASHES
    )
    with TestClient(create_app(settings, _registry())) as client:
        admin = Admin(client)
        user = admin.browser("u@example.com")
        listed = user.ok("GET", "/embedders")
        assert listed["default"] == settings.embedder
        for name in ("sface", "dlib", "sface+dlib", "colours-v2", "means"):
            assert listed["embedders"].index(f"{name}-flip") == listed["embedders"].index(name) + 1
        service = admin.service(admin.application()["id"])
        unknown = admin.owner.post(f"/services/{service['id']}/migrate", json={"embedder": "nope"})
        assert "colours-v2, " in unknown.json()["message"] and "means, " in unknown.json()["message"]
        assert admin.browser().get("/embedders").status_code == 401
