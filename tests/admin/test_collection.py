"""Collection management from the admin side: the face API's rules and errors, seen by the face API."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.admin.conftest import Admin, Browser
from tests.support import squares

FACE_API_SUBJECTS = "/api/v1/recognition/subjects"


@pytest.fixture
def collection(admin: Admin) -> tuple[Browser, dict[str, Any]]:
    service = admin.service(admin.application()["id"])
    return admin.owner, service


def _upload(browser: Browser, service_id: str, subject: str, *files: tuple[str, bytes]) -> Any:
    parts = [("file", (name, content, "image/png")) for name, content in files]
    return browser.ok("POST", f"/services/{service_id}/examples", data={"subject": subject}, files=parts)


def test_subjects_create_search_page_rename_delete(collection: tuple[Browser, dict[str, Any]]) -> None:
    owner, service = collection
    base = f"/services/{service['id']}/subjects"
    for name in ("Zed", "ada", "Adam", "Bob"):
        assert owner.ok("POST", base, 201, json={"subject": name}) == {"subject": name}
    page = owner.ok("GET", base)
    assert [(s["subject"], s["example_count"]) for s in page["subjects"]] == [
        ("ada", 0),
        ("Adam", 0),
        ("Bob", 0),
        ("Zed", 0),
    ]
    assert (page["total_elements"], page["total_pages"], page["page_number"]) == (4, 1, 0)
    found = owner.ok("GET", base, params={"search": "AD"})
    assert [s["subject"] for s in found["subjects"]] == ["ada", "Adam"]
    assert owner.ok("GET", base, params={"search": "%"})["subjects"] == []  # no wildcards
    second = owner.ok("GET", base, params={"page": 1, "size": 3})
    assert [s["subject"] for s in second["subjects"]] == ["Zed"] and second["total_pages"] == 2
    assert owner.ok("PUT", f"{base}/Bob", json={"subject": "Rob"}) == {"updated": True, "subject": "Rob"}
    assert owner.ok("DELETE", f"{base}/zed") == {"subject": "Zed"}
    face_api = owner.client.get(FACE_API_SUBJECTS, headers={"x-api-key": service["api_key"]}).json()
    assert sorted(face_api["subjects"]) == ["Adam", "Rob", "ada"]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"subject": ""}, 26, "Subject name cannot be empty"),
        ({}, 26, "Subject name cannot be empty"),
        ({"subject": 5}, 26, "Subject name cannot be empty"),
        ({"subject": "x" * 51}, 26, "Subject name size must be between 1 and 50"),
        ({"subject": "a/b"}, 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
    ],
)
def test_subject_rules_are_the_face_apis(
    collection: tuple[Browser, dict[str, Any]], body: dict[str, object], code: int, message: str
) -> None:
    owner, service = collection
    response = owner.post(f"/services/{service['id']}/subjects", json=body)
    assert (response.status_code, response.json()) == (400, {"message": message, "code": code})


def test_subject_errors_are_the_face_apis(collection: tuple[Browser, dict[str, Any]]) -> None:
    owner, service = collection
    base = f"/services/{service['id']}/subjects"
    owner.ok("POST", base, 201, json={"subject": "Ada"})
    duplicate = owner.post(base, json={"subject": "ADA"})
    assert (duplicate.status_code, duplicate.json()) == (400, {"message": "Subject already exists", "code": 43})
    missing = owner.call("DELETE", f"{base}/Nobody")
    assert (missing.status_code, missing.json()) == (404, {"message": "Subject Nobody not found", "code": 42})
    renamed = owner.call("PUT", f"{base}/Nobody", json={"subject": "X"})
    assert renamed.json()["code"] == 42
    form = owner.client.post(f"/admin{base}", data={"subject": "x"}, headers={"X-CSRF-Token": owner.csrf or ""})
    assert form.status_code == 415


def test_upload_many_files_with_a_result_per_file(collection: tuple[Browser, dict[str, Any]]) -> None:
    owner, service = collection
    two_faces = squares.image([(10, 10, 60, squares.RED), (120, 100, 60, squares.GREEN)])
    no_face = squares.image([])
    answer = _upload(
        owner,
        service["id"],
        "Ada",
        ("one.png", squares.one_face()),
        ("two.png", two_faces),
        ("none.png", no_face),
        ("notes.txt", b"text"),
        ("three.png", squares.one_face(squares.GREEN)),
    )
    results = answer["results"]
    assert [r["file"] for r in results] == ["one.png", "two.png", "none.png", "notes.txt", "three.png"]
    assert [r["status"] for r in results] == [201, 400, 400, 400, 201]
    assert results[1]["error"] == {"message": "More than one face in the source image", "code": 31}
    assert results[2]["error"] == {"message": "No face is found in the given image", "code": 28}
    assert results[3]["error"] == {"message": "File [notes.txt] has an unavailable extension", "code": 21}
    assert results[0]["subject"] == "Ada" and results[0]["image_id"]
    service_now = owner.ok("GET", f"/services/{service['id']}")
    assert (service_now["subject_count"], service_now["example_count"]) == (1, 2)
    recognized = owner.client.post(
        "/api/v1/recognition/recognize",
        files={"file": ("q.png", squares.one_face(), "image/png")},
        headers={"x-api-key": service["api_key"]},
    ).json()
    assert recognized["result"][0]["subjects"][0]["subject"] == "Ada"  # the face API sees the upload at once


def test_upload_request_errors(collection: tuple[Browser, dict[str, Any]]) -> None:
    owner, service = collection
    path = f"/services/{service['id']}/examples"
    no_subject = owner.post(path, files={"file": ("a.png", squares.one_face(), "image/png")})
    assert (no_subject.status_code, no_subject.json()["code"]) == (400, 33)
    no_file = owner.post(path, data={"subject": "Ada"})
    assert (no_file.status_code, no_file.json()["code"]) in ((400, 34), (415, 26))
    blank = owner.post(path, data={"subject": " "}, files={"file": ("a.png", squares.one_face(), "image/png")})
    assert (blank.status_code, blank.json()["code"]) == (400, 26)
    json_body = owner.post(path, json={"subject": "Ada"})
    assert json_body.status_code == 415
    assert owner.ok("GET", f"/services/{service['id']}")["example_count"] == 0


def test_examples_list_delete_and_images(collection: tuple[Browser, dict[str, Any]]) -> None:
    owner, service = collection
    big = squares.image([(100, 80, 200, squares.RED)], size=(640, 480))
    ids = [r["image_id"] for r in _upload(owner, service["id"], "Ada", ("a.png", big), ("b.png", big))["results"]]
    _upload(owner, service["id"], "Bob", ("c.png", squares.one_face(squares.GREEN)))
    page = owner.ok("GET", f"/services/{service['id']}/examples", params={"subject": "ada", "size": 1})
    assert (page["total_elements"], page["total_pages"], page["page_size"]) == (2, 2, 1)
    assert page["faces"] == [{"image_id": ids[0], "subject": "Ada"}]
    original = owner.get(f"/services/{service['id']}/examples/{ids[0]}/image")
    assert original.status_code == 200 and original.content == big
    assert original.headers["content-type"] == "image/png"
    assert original.headers["cache-control"] == "private, no-store"
    thumb = owner.get(f"/services/{service['id']}/examples/{ids[0]}/image", params={"max_side": 160})
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (160, 120)
    small = owner.get(f"/services/{service['id']}/examples/{ids[0]}/image", params={"max_side": 4000})
    assert Image.open(io.BytesIO(small.content)).size == (640, 480)  # never enlarged
    for bad in ("-1", "5000", "x"):
        response = owner.get(f"/services/{service['id']}/examples/{ids[0]}/image", params={"max_side": bad})
        assert (response.status_code, response.json()["code"]) == (400, 26), bad
    assert owner.ok("DELETE", f"/services/{service['id']}/examples/{ids[0]}") == {"image_id": ids[0], "subject": "Ada"}
    again = owner.call("DELETE", f"/services/{service['id']}/examples/{ids[0]}")
    assert (again.status_code, again.json()["code"]) == (404, 44)
    assert owner.call("DELETE", f"/services/{service['id']}/examples/not-a-uuid").json()["code"] == 26
    assert owner.get(f"/services/{service['id']}/examples/{ids[0]}/image").content == b""  # as the face API
    faces = owner.client.get("/api/v1/recognition/faces", headers={"x-api-key": service["api_key"]}).json()
    assert sorted(f["subject"] for f in faces["faces"]) == ["Ada", "Bob"]
    subjects = owner.ok("GET", f"/services/{service['id']}/subjects")["subjects"]
    assert [(s["subject"], s["example_count"]) for s in subjects] == [("Ada", 1), ("Bob", 1)]


def test_collections_only_for_recognition_services(admin: Admin) -> None:
    detection = admin.service(admin.application()["id"], "boxes", "DETECTION")
    for method, path in (("GET", "subjects"), ("GET", "examples"), ("POST", "subjects")):
        response = admin.owner.call(method, f"/services/{detection['id']}/{path}", json={"subject": "x"})
        assert (response.status_code, response.json()["code"]) == (400, 0)
        assert "only recognition services hold subjects" in response.json()["message"]
