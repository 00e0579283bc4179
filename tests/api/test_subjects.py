"""Subjects routes (CompreFace §4.1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from facekeeper.app import create_app
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import GREEN, RED, one_face

URL = "/api/v1/recognition/subjects"


def test_create_list_and_duplicate_ignoring_case(api: Api) -> None:
    created = api.client.post(URL, json={"subject": "Tom"}, headers=api.headers())
    assert created.status_code == 201
    assert created.json() == {"subject": "Tom"}
    duplicate = api.client.post(URL, json={"subject": "tOM"}, headers=api.headers())
    assert (duplicate.status_code, duplicate.json()) == (400, {"message": "Subject already exists", "code": 43})
    listed = api.client.get(URL, headers=api.headers())
    assert listed.json() == {"subjects": ["Tom"]}


def test_empty_collection_lists_empty_array(api: Api) -> None:
    assert api.client.get(URL + "/", headers=api.headers()).json() == {"subjects": []}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"subject": ""}, 26, "Subject name cannot be empty"),
        ({"subject": "   "}, 26, "Subject name cannot be empty"),
        ({}, 26, "Subject name cannot be empty"),
        ({"subject": 5}, 26, "Subject name cannot be empty"),
        ({"subject": "x" * 51}, 26, "Subject name size must be between 1 and 50"),
        ({"subject": "a;b"}, 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ({"subject": "a/b"}, 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ({"subject": "a\\b"}, 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
    ],
)
def test_create_validation(api: Api, body: dict[str, object], code: int, message: str) -> None:
    response = api.client.post(URL, json=body, headers=api.headers())
    assert (response.status_code, response.json()) == (400, {"message": message, "code": code})
    assert api.client.get(URL, headers=api.headers()).json() == {"subjects": []}


def test_rename_same_name_is_not_an_update(api: Api) -> None:
    api.client.post(URL, json={"subject": "Tom"}, headers=api.headers())
    response = api.client.put(f"{URL}/Tom", json={"subject": "Tom"}, headers=api.headers())
    assert response.json() == {"updated": False}


def test_rename_unknown_subject(api: Api) -> None:
    response = api.client.put(f"{URL}/Nobody", json={"subject": "X"}, headers=api.headers())
    assert (response.status_code, response.json()) == (404, {"message": "Subject Nobody not found", "code": 42})


def test_rename_changes_name_seen_by_recognition(api: Api) -> None:
    api.enrol("Tom", one_face(RED))
    response = api.client.put(
        f"{URL}/tom", json={"subject": "Thomas", "api_endpoint": "ignored"}, headers=api.headers()
    )
    assert response.json() == {"updated": True}
    assert api.client.get(URL, headers=api.headers()).json() == {"subjects": ["Thomas"]}
    recognized = api.client.post(
        "/api/v1/recognition/recognize", files={"file": ("a.png", one_face(RED))}, headers=api.headers()
    ).json()
    assert recognized["result"][0]["subjects"][0]["subject"] == "Thomas"


def test_rename_into_existing_subject_merges(api: Api) -> None:
    api.enrol("Tom", one_face(RED))
    api.enrol("Ann", one_face(GREEN))
    response = api.client.put(f"{URL}/Tom", json={"subject": "ANN"}, headers=api.headers())
    assert response.json() == {"updated": True}
    assert api.client.get(URL, headers=api.headers()).json() == {"subjects": ["Ann"]}
    faces = api.client.get("/api/v1/recognition/faces", headers=api.headers()).json()["faces"]
    assert sorted(f["subject"] for f in faces) == ["Ann", "Ann"]
    recognized = api.client.post(
        "/api/v1/recognition/recognize", files={"file": ("a.png", one_face(RED))}, headers=api.headers()
    ).json()
    assert recognized["result"][0]["subjects"][0]["subject"] == "Ann"


def test_rename_case_only_keeps_one_subject(api: Api) -> None:
    api.client.post(URL, json={"subject": "tom"}, headers=api.headers())
    assert api.client.put(f"{URL}/tom", json={"subject": "Tom"}, headers=api.headers()).json() == {"updated": True}
    assert api.client.get(URL, headers=api.headers()).json() == {"subjects": ["Tom"]}


def test_rename_validates_new_name(api: Api) -> None:
    api.client.post(URL, json={"subject": "Tom"}, headers=api.headers())
    response = api.client.put(f"{URL}/Tom", json={"subject": "a/b"}, headers=api.headers())
    assert response.json()["code"] == 36


def test_delete_subject_removes_examples_from_recognition(api: Api) -> None:
    api.enrol("Tom", one_face(RED))
    response = api.client.delete(f"{URL}/TOM", headers=api.headers())
    assert response.json() == {"subject": "Tom"}
    recognized = api.client.post(
        "/api/v1/recognition/recognize", files={"file": ("a.png", one_face(RED))}, headers=api.headers()
    ).json()
    assert recognized["result"][0]["subjects"] == []
    missing = api.client.delete(f"{URL}/Tom", headers=api.headers())
    assert (missing.status_code, missing.json()["code"]) == (404, 42)


def test_delete_all_subjects(api: Api) -> None:
    """Spelled without the trailing `/` only: `DELETE /subjects/` names a subject with an empty name."""
    for name in ("a", "b"):
        api.client.post(URL, json={"subject": name}, headers=api.headers())
    api.enrol("c", one_face(RED))
    assert api.client.delete(URL + "/", headers=api.headers()).status_code == 404
    assert api.client.delete(URL, headers=api.headers()).json() == {"deleted": 3}
    assert api.client.get(URL, headers=api.headers()).json() == {"subjects": []}
    assert api.client.get("/api/v1/recognition/faces", headers=api.headers()).json()["total_elements"] == 0
    assert api.client.delete(URL, headers=api.headers()).json() == {"deleted": 0}


def test_subjects_are_per_service(api: Api) -> None:
    from facekeeper.domain import ServiceType

    other = api.new_key(ServiceType.RECOGNITION, "other")
    api.client.post(URL, json={"subject": "Tom"}, headers=api.headers())
    assert api.client.get(URL, headers=api.headers(other)).json() == {"subjects": []}
    assert api.client.post(URL, json={"subject": "Tom"}, headers=api.headers(other)).status_code == 201


def test_list_keeps_creation_order_and_its_json_shape(api: Api) -> None:
    for name in ("zed", "Amy", "bob"):
        api.client.post(URL, json={"subject": name}, headers=api.headers())
    api.enrol("Émile", one_face(RED))
    for _ in range(2):  # read, then kept
        listed = api.client.get(URL, headers=api.headers())
        assert listed.headers["content-type"] == "application/json"
        assert listed.content == '{"subjects":["zed","Amy","bob","Émile"]}'.encode()


def test_another_server_on_the_same_database_changes_the_list_at_once(
    api: Api, tmp_path: Path, database_url: str
) -> None:
    """A second app (another process, a replica, the CLI) writes; this one's kept list never outlives it."""
    settings = squares.test_settings(data_dir=tmp_path / "other", database_url=database_url)
    with TestClient(create_app(settings, squares.registry())) as other:

        def listed() -> list[str]:
            names: list[str] = api.client.get(URL, headers=api.headers()).json()["subjects"]
            return names

        def enrol(client: TestClient, subject: str) -> Response:
            return client.post(
                "/api/v1/recognition/faces",
                params={"subject": subject},
                files={"file": ("f.png", one_face(RED), "image/png")},
                headers=api.headers(),
            )

        steps: list[tuple[Callable[[], Response], list[str]]] = [
            (lambda: other.post(URL, json={"subject": "zed"}, headers=api.headers()), ["zed"]),
            (lambda: enrol(api.client, "Amy"), ["zed", "Amy"]),  # this app's own write
            (lambda: other.put(f"{URL}/zed", json={"subject": "Zack"}, headers=api.headers()), ["Zack", "Amy"]),
            (lambda: other.delete(f"{URL}/zack", headers=api.headers()), ["Amy"]),  # it had no examples
            (lambda: enrol(other, "Bo"), ["Amy", "Bo"]),
            (lambda: other.delete(URL, headers=api.headers()), []),
        ]
        assert listed() == []
        for step, expected in steps:
            assert step().status_code in (200, 201)
            assert listed() == expected
            assert listed() == expected
