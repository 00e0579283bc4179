"""Real models on real photos (tests/fixtures, NOTICE): a collection keeps recognising the right people when
it is switched to another embedder with `migrate`, and collections of two embedders on one server each
answer with their own model, never with the other's vectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.domain import ServiceType
from facekeeper.services.migration import MigrationState
from facekeeper.settings import Settings
from tests.conftest import Api

pytestmark = pytest.mark.models

FACES = Path(__file__).resolve().parent.parent / "fixtures" / "faces"
PEOPLE = ("obama", "biden", "angelina_jolie", "jennifer_aniston")
STRANGERS = ("stranger_elon_musk", "stranger_steve_carell")
VERSIONS = {
    "sface": "sface.Calculator@2021dec_int8bq",
    "dlib": "dlib.Calculator@resnet_v1",
    "sface+dlib-flip": "sface+dlib.Calculator@2021dec_int8bq+resnet_v1+flip",
}


@pytest.fixture(scope="module")
def real_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("embedders"), inference_workers=2, plugins="")
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def enrol_people(api: Api, key: str) -> None:
    for person in PEOPLE:
        api.enrol(person, (FACES / f"{person}_1.jpg").read_bytes(), key=key)


def recognize(api: Api, key: str, photo: str) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"status": "true", "prediction_count": 4},
        files={"file": (photo, (FACES / photo).read_bytes(), "image/jpeg")},
        headers=api.headers(key),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check_recognition(api: Api, key: str, embedder: str) -> None:
    """Each person's second photo finds them first, clearly above 0.5; strangers stay below everyone's."""
    for person in PEOPLE:
        body = recognize(api, key, f"{person}_2.jpg")
        assert body["plugins_versions"]["calculator"] == VERSIONS[embedder]
        subjects = body["result"][0]["subjects"]
        assert subjects[0]["subject"] == person, (embedder, person, subjects)
        assert subjects[0]["similarity"] > 0.5, (embedder, person, subjects)
        assert all(other["similarity"] < subjects[0]["similarity"] for other in subjects[1:])
    for stranger in STRANGERS:
        subjects = recognize(api, key, f"{stranger}.jpg")["result"][0]["subjects"]
        assert subjects[0]["similarity"] < 0.5, (embedder, stranger, subjects)


def test_switching_a_collections_embedder_keeps_recognition_right(real_api: Api) -> None:
    key = real_api.recognition_key
    enrol_people(real_api, key)
    check_recognition(real_api, key, "sface")
    service = real_api.services.api_keys.recognition_service("rec")
    for target in ("dlib", "sface+dlib-flip"):
        final = real_api.services.migration.run(service, target)
        assert (final.state, final.done, final.total) == (MigrationState.DONE, len(PEOPLE), len(PEOPLE))
        service = real_api.services.api_keys.recognition_service("rec")
        assert service.embedder == target
        check_recognition(real_api, key, target)
    status = real_api.client.get("/api/v1/consistence/status").json()
    assert status["dbIsInconsistent"] is True  # the server's active embedder is still sface


def test_collections_of_two_embedders_each_use_their_own(real_api: Api) -> None:
    sface_key = real_api.new_key(ServiceType.RECOGNITION, "sface-people")
    enrol_people(real_api, sface_key)
    dlib_key = real_api.new_key(ServiceType.RECOGNITION, "dlib-people")
    dlib_service = real_api.services.api_keys.recognition_service("dlib-people")
    real_api.services.migration.run(dlib_service, "dlib")  # empty: switched at once
    enrol_people(real_api, dlib_key)
    check_recognition(real_api, sface_key, "sface")
    check_recognition(real_api, dlib_key, "dlib")
    # A vector of one embedder offered to the other collection finds nobody it should not: the dlib
    # embedding of Obama's photo, sent as an embedding to the sface collection, is not Obama.
    dlib_vector = recognize(real_api, dlib_key, "obama_2.jpg")
    response = real_api.client.post(
        "/api/v1/recognition/recognize",
        params={"face_plugins": "calculator"},
        files={"file": ("obama_2.jpg", (FACES / "obama_2.jpg").read_bytes(), "image/jpeg")},
        headers=real_api.headers(dlib_key),
    )
    embedding = response.json()["result"][0]["embedding"]
    crossed = real_api.client.post(
        "/api/v1/recognition/embeddings/recognize",
        params={"prediction_count": 4},
        json={"embeddings": [embedding]},
        headers=real_api.headers(sface_key),
    ).json()["result"][0]["similarities"]
    assert dlib_vector["result"][0]["subjects"][0]["subject"] == "obama"
    assert all(match["similarity"] < 0.5 for match in crossed)
