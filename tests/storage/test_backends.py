"""The whole collection lifecycle through the API on each database backend: PostgreSQL is a setting."""

from __future__ import annotations

import threading
import uuid

import pytest

from facekeeper.domain import ServiceType
from tests.conftest import Api
from tests.support.squares import GREEN, RED, one_face


@pytest.fixture
def backend_api(api: Api) -> Api:
    return api


def _recognize(api: Api) -> list[dict]:
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"prediction_count": 5},
        files={"file": ("p.png", one_face(RED))},
        headers=api.headers(),
    )
    return response.json()["result"][0]["subjects"]


def test_collection_lifecycle(backend_api: Api) -> None:
    api = backend_api
    red = api.enrol("Red", one_face(RED))
    api.enrol("Green", one_face(GREEN))
    assert [s["subject"] for s in _recognize(api)] == ["Red", "Green"]
    assert api.client.put(
        "/api/v1/recognition/subjects/green", json={"subject": "RED"}, headers=api.headers()
    ).json() == {"updated": True}
    assert [s["subject"] for s in _recognize(api)] == ["Red", "Red"]
    assert api.client.get(f"/api/v1/recognition/faces/{red}/img", headers=api.headers()).content == one_face(RED)
    assert api.client.delete(f"/api/v1/recognition/faces/{red}", headers=api.headers()).status_code == 200
    assert len(_recognize(api)) == 1
    assert api.client.delete("/api/v1/recognition/subjects/red", headers=api.headers()).json() == {"subject": "Red"}
    assert _recognize(api) == []


def test_duplicate_subject_and_deleting_a_service(backend_api: Api) -> None:
    api = backend_api
    api.enrol("Tom", one_face(RED))
    duplicate = api.client.post("/api/v1/recognition/subjects", json={"subject": "TOM"}, headers=api.headers())
    assert duplicate.json()["code"] == 43
    api.services.api_keys.delete("rec")
    gone = api.client.get("/api/v1/recognition/subjects", headers=api.headers())
    assert gone.status_code == 404
    other = api.new_key(ServiceType.RECOGNITION, "rec")
    assert api.client.get("/api/v1/recognition/faces", headers=api.headers(other)).json()["total_elements"] == 0


def test_concurrent_enrolment_of_the_same_new_subjects(backend_api: Api) -> None:
    """Writers race to create the same subjects: none may fail, none may be duplicated."""
    services = backend_api.services
    service = services.api_keys.by_api_key(backend_api.recognition_key)
    assert service is not None
    failures: list[str] = []

    def enrol(worker: int) -> None:
        for n in range(12):
            try:
                services.examples.add(service, f"person{n % 4}", one_face(RED), None)
            except Exception as error:  # any failure is the bug this test guards against
                failures.append(f"{worker}: {error!r}")

    threads = [threading.Thread(target=enrol, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(services.subjects.list(service)) == ["person0", "person1", "person2", "person3"]
    assert services.examples.page(service, None, 0, 1).total == 72


def test_bulk_delete_beyond_one_statement_of_parameters(backend_api: Api) -> None:
    """Issue 9: 70,000 ids were one IN list: PostgreSQL refused it (code 0) and logged 2 MB of statement."""
    api = backend_api
    kept = api.enrol("Tom", one_face(RED))
    gone = api.enrol("Ann", one_face(GREEN))
    filler = [str(uuid.UUID(int=i)) for i in range(1, 70_001)]
    response = api.client.post("/api/v1/recognition/faces/delete", json=[*filler, gone], headers=api.headers())
    assert response.status_code == 200, response.text
    assert response.json() == [{"image_id": gone, "subject": "Ann"}]
    listed = api.client.get("/api/v1/recognition/faces", headers=api.headers()).json()["faces"]
    assert [face["image_id"] for face in listed] == [kept]
