"""Collections own their embedder: new ones take the server's, old ones keep theirs, a search never compares
vectors of two embedders, and `migrate` switches a collection (resumably, the old vectors searched until the
switch). Fake square/colour models on SQLite and PostgreSQL; tests/services/test_migrate_real_models.py runs
the same story on real photos."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from facekeeper.app import create_app
from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.registry import ModelRegistry, default_registry
from facekeeper.services.migration import MigrationState
from facekeeper.storage.repositories import ServiceRepository
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import GREEN, RED, ColourEmbedder, one_face

V1 = ColourEmbedder.version
V2 = "colours.Calculator@v2"
GREY = (250, 250, 250)
PINK = (250, 100, 250)


class SwappedColourEmbedder(ColourEmbedder):
    """Another model of the same dimension: same faces, other numbers (a dimension check cannot tell)."""

    version = V2
    calls = 0

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        SwappedColourEmbedder.calls += len(faces_rgb)
        return super().embed(faces_rgb)[:, ::-1].copy()


def registry() -> ModelRegistry:
    def add_v2(registry: ModelRegistry) -> None:
        registry.add_embedder("colours-v2", lambda _settings: SwappedColourEmbedder())

    return default_registry(extra_hooks=[squares.add_to, add_v2])


class Server(Api):
    """An `Api` that finds its services again when a second server opens the same store."""

    def new_key(self, service_type: ServiceType, name: str) -> str:
        existing = [s for s in self.services.api_keys.list() if s.name == name]
        return existing[0].api_key if existing else super().new_key(service_type, name)


@contextmanager
def server(data_dir: Path, database_url: str, embedder: str = "colours", **settings: Any) -> Iterator[Api]:
    configured = squares.test_settings(data_dir=data_dir, database_url=database_url, embedder=embedder, **settings)
    with TestClient(create_app(configured, registry())) as client:
        yield Server(client)


def service(api: Api, name: str = "rec") -> ServiceRecord:
    return api.services.api_keys.recognition_service(name)


def recognize(api: Api, image: bytes, key: str | None = None) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"status": "true", "prediction_count": 10},
        files={"file": ("face.png", image, "image/png")},
        headers=api.headers(key),
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"][0]
    return result


def best(result: dict[str, Any]) -> str:
    return str(result["subjects"][0]["subject"])


def top(result: dict[str, Any]) -> tuple[str, bool]:
    """The best match's subject, and whether it is the same face (distance 0 under the fake model)."""
    match = result["subjects"][0]
    return match["subject"], match["similarity"] > 0.999


def inconsistent(api: Api) -> bool:
    return bool(api.client.get("/api/v1/consistence/status").json()["dbIsInconsistent"])


def populate(api: Api) -> None:
    api.enrol("Red", one_face(RED))
    api.enrol("Green", one_face(GREEN))
    api.enrol("Grey", one_face(GREY))


def test_new_collections_take_the_active_embedder_and_keep_it(tmp_path: Path, database_url: str) -> None:
    with server(tmp_path, database_url) as api:
        assert service(api).embedder == "colours"
        populate(api)
        assert not inconsistent(api)
    with server(tmp_path, database_url, embedder="colours-v2") as api:
        old = service(api)
        assert old.embedder == "colours"  # the server's new default does not touch it
        new_key = api.new_key(ServiceType.RECOGNITION, "newer")
        assert service(api, "newer").embedder == "colours-v2"
        found = recognize(api, one_face(GREEN))
        # still searched, and queried, with its own embedder
        assert best(found) == "Green" and found["subjects"][0]["similarity"] > 0.999
        assert (
            api.client.post(
                "/api/v1/recognition/recognize",
                params={"status": "true"},
                files={"file": ("f.png", one_face(GREEN), "image/png")},
                headers=api.headers(),
            ).json()["plugins_versions"]["calculator"]
            == V1
        )
        api.enrol("Green", one_face(GREEN), key=new_key)
        newer = api.client.post(
            "/api/v1/recognition/recognize",
            params={"status": "true"},
            files={"file": ("f.png", one_face(GREEN), "image/png")},
            headers=api.headers(new_key),
        ).json()
        assert newer["plugins_versions"]["calculator"] == V2
        assert newer["result"][0]["subjects"][0]["subject"] == "Green"
        assert inconsistent(api)  # a collection does not match the active embedder


def test_a_collection_is_never_compared_with_another_embedders_vectors(tmp_path: Path, database_url: str) -> None:
    with server(tmp_path, database_url) as api:
        populate(api)
        rec = service(api)
        # A stray vector in this collection labelled as another model's, equal to what a query of Green
        # gives: compared by mistake it would be the best match, with similarity 1.
        green = ColourEmbedder().embed(np.full((1, 112, 112, 3), GREEN, np.uint8))[0]
        green = green / np.linalg.norm(green)
        with api.services.db.transaction(write=True) as session:
            subject_id = str(uuid.uuid4())
            session.execute(
                text(
                    "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                    "VALUES (:id, :service, 'Intruder', 'intruder', CURRENT_TIMESTAMP)"
                ),
                {"id": subject_id, "service": rec.id},
            )
            session.execute(
                text(
                    "INSERT INTO example (id, service_id, subject_id, embedding, dimension, calculator, created_at) "
                    "VALUES (:id, :service, :subject, :embedding, 4, :calculator, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "service": rec.id,
                    "subject": subject_id,
                    "embedding": green.astype(np.float32).tobytes(),
                    "calculator": V2,
                },
            )
            session.execute(text("UPDATE service SET revision = revision + 1 WHERE id = :id"), {"id": rec.id})
    # A fresh process loads the collection from the database.
    with server(tmp_path, database_url, embedder="colours-v2") as api:
        found = recognize(api, one_face(GREEN))
        subjects = [match["subject"] for match in found["subjects"]]
        assert subjects[0] == "Green" and "Intruder" not in subjects
        assert len(subjects) == 3  # the three colours-v1 examples, nothing else
        assert inconsistent(api)


def test_migrate_switches_the_collection_and_recognition_stays_right(tmp_path: Path, database_url: str) -> None:
    with server(tmp_path, database_url, embedder="colours-v2") as api:
        populate(api)
        api.client.post("/api/v1/recognition/subjects", json={"subject": "Nobody"}, headers=api.headers())
    with server(tmp_path, database_url) as api:  # the server's default is now colours
        rec = service(api)
        assert rec.embedder == "colours-v2"
        assert recognize(api, one_face(RED))["subjects"][0]["subject"] == "Red"
        seen: list[tuple[str, int, int]] = []
        final = api.services.migration.run(
            rec, "colours", on_progress=lambda p: seen.append((p.state.value, p.done, p.total))
        )
        assert (final.state, final.done, final.total) == (MigrationState.DONE, 3, 3)
        assert seen[0] == ("running", 0, 3) and seen[-1] == ("done", 3, 3)
        assert service(api).embedder == "colours"
        for colour, name in ((RED, "Red"), (GREEN, "Green"), (GREY, "Grey")):
            answer = api.client.post(
                "/api/v1/recognition/recognize",
                params={"status": "true"},
                files={"file": ("f.png", one_face(colour), "image/png")},
                headers=api.headers(),
            ).json()
            assert answer["plugins_versions"]["calculator"] == V1
            assert top(answer["result"][0]) == (name, True)
        assert not inconsistent(api)
        assert api.services.migration.progress(service(api)).state is MigrationState.DONE
        with api.services.db.transaction() as session:
            calculators = session.execute(text("SELECT DISTINCT calculator FROM example")).scalars().all()
            pending = session.execute(text("SELECT count(*) FROM pending_embedding")).scalar_one()
        assert calculators == [V1] and pending == 0
        names = api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json()["subjects"]
        assert sorted(names) == ["Green", "Grey", "Nobody", "Red"]


def test_an_interrupted_migration_resumes_and_old_vectors_stay_searched(tmp_path: Path, database_url: str) -> None:
    with server(tmp_path, database_url) as api:
        populate(api)
        api.enrol("Red", one_face(RED, side=60))
        rec = service(api)
        api.services.migration.batch_size = 1
        batches = iter(range(100))
        SwappedColourEmbedder.calls = 0
        stopped = api.services.migration.run(rec, "colours-v2", should_stop=lambda: next(batches) >= 2)
        assert (stopped.state, stopped.done, stopped.total) == (MigrationState.INTERRUPTED, 2, 4)
        assert SwappedColourEmbedder.calls == 2
        progress = api.services.migration.progress(rec)
        assert (progress.state, progress.embedder, progress.done, progress.total) == (
            MigrationState.INTERRUPTED,
            "colours-v2",
            2,
            4,
        )
        # Until the switch, the collection is the old one, searched with the old embedder.
        assert service(api).embedder == "colours"
        found = recognize(api, one_face(GREEN))
        assert top(found) == ("Green", True)
        # Meanwhile a new example arrives (embedded by the old model, as the collection still is).
        api.enrol("Pink", one_face(PINK))
    with server(tmp_path, database_url) as api:  # a new process resumes from the database
        rec = service(api)
        final = api.services.migration.run(rec, "colours-v2")
        assert (final.state, final.done, final.total) == (MigrationState.DONE, 5, 5)
        assert SwappedColourEmbedder.calls == 5  # only the 3 left (with Pink) were embedded again
        assert service(api).embedder == "colours-v2"
        found = recognize(api, one_face(PINK))
        assert top(found) == ("Pink", True)


def test_migration_refuses_a_collection_without_stored_images(tmp_path: Path, database_url: str) -> None:
    with server(tmp_path, database_url, save_images_to_db=False) as api:
        populate(api)
        rec = service(api)
        with pytest.raises(FacekeeperError) as refused:
            api.services.migration.run(rec, "colours-v2")
        assert refused.value.error is Error.MIGRATION_NEEDS_IMAGES
        assert "3 of 3 examples without a stored image" in refused.value.message
        assert service(api).embedder == "colours"
        assert best(recognize(api, one_face(RED))) == "Red"
        with pytest.raises(FacekeeperError) as unknown:
            api.services.migration.run(rec, "no-such-model")
        assert unknown.value.error is Error.EMBEDDER_UNKNOWN and "colours-v2" in unknown.value.message


def test_a_migration_to_another_target_drops_the_unfinished_one(tmp_path: Path, database_url: str) -> None:
    with server(tmp_path, database_url) as api:
        populate(api)
        rec = service(api)
        api.services.migration.batch_size = 1
        api.services.migration.run(rec, "colours-v2", should_stop=iter([False, True]).__next__)
        with api.services.db.transaction() as session:
            assert ServiceRepository(session).embedder(rec.id) == "colours"
            assert session.execute(text("SELECT count(*) FROM pending_embedding")).scalar_one() == 1
        final = api.services.migration.run(rec, "colours-flip")
        assert final.state is MigrationState.DONE and service(api).embedder == "colours-flip"
        answer = api.client.post(
            "/api/v1/recognition/recognize",
            params={"status": "true"},
            files={"file": ("f.png", one_face(GREY), "image/png")},
            headers=api.headers(),
        ).json()
        assert answer["plugins_versions"]["calculator"] == f"{V1}+flip"
        assert answer["result"][0]["subjects"][0]["subject"] == "Grey"
