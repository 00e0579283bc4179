"""Example routes (CompreFace §4.2)."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import Api
from tests.support.squares import GREEN, RED, image, one_face

URL = "/api/v1/recognition/faces"


def test_add_example_multipart_returns_subject_as_sent(api: Api) -> None:
    api.client.post("/api/v1/recognition/subjects", json={"subject": "Tom"}, headers=api.headers())
    response = api.client.post(
        URL, params={"subject": "TOM"}, files={"file": ("a.PNG", one_face(RED))}, headers=api.headers()
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"image_id", "subject"}
    assert body["subject"] == "TOM"
    assert api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json() == {"subjects": ["Tom"]}


def test_add_example_subject_as_multipart_field(api: Api) -> None:
    response = api.client.post(
        URL, data={"subject": "Ann"}, files={"file": ("a.png", one_face(GREEN))}, headers=api.headers()
    )
    assert response.status_code == 201
    assert response.json()["subject"] == "Ann"


def test_add_example_base64_json(api: Api) -> None:
    encoded = base64.b64encode(one_face(RED)).decode()
    response = api.client.post(URL, params={"subject": "Tom"}, json={"file": encoded}, headers=api.headers())
    assert response.status_code == 201
    prefixed = api.client.post(
        URL, params={"subject": "Tom"}, json={"file": "data:image/png;base64," + encoded}, headers=api.headers()
    )
    assert prefixed.status_code == 201


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({}, 33, "Required parameter subject is missing"),
        ({"subject": ""}, 26, "Subject name is empty; "),
        ({"subject": "  "}, 26, "Subject name is empty; "),
    ],
)
def test_add_example_subject_errors(api: Api, params: dict[str, str], code: int, message: str) -> None:
    response = api.client.post(URL, params=params, files={"file": ("a.png", one_face())}, headers=api.headers())
    assert (response.status_code, response.json()) == (400, {"message": message, "code": code})


def test_add_example_refuses_two_faces_and_no_face(api: Api) -> None:
    two = image([(10, 10, 60, RED), (120, 100, 70, GREEN)])
    response = api.client.post(URL, params={"subject": "x"}, files={"file": ("a.png", two)}, headers=api.headers())
    assert response.json() == {"message": "More than one face in the source image", "code": 31}
    none = image([])
    response = api.client.post(URL, params={"subject": "x"}, files={"file": ("a.png", none)}, headers=api.headers())
    assert (response.status_code, response.json()) == (
        400,
        {"message": "No face is found in the given image", "code": 28},
    )
    assert api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json() == {"subjects": []}


def test_det_prob_threshold_applies_on_enrolment(api: Api) -> None:
    dim = one_face((250, 0, 100))  # probability 100/255 = 0.39
    response = api.client.post(URL, params={"subject": "x"}, files={"file": ("a.png", dim)}, headers=api.headers())
    assert response.json()["code"] == 28
    response = api.client.post(
        URL, params={"subject": "x", "det_prob_threshold": "0.2"}, files={"file": ("a.png", dim)}, headers=api.headers()
    )
    assert response.status_code == 201


def test_list_pages_and_subject_filter(api: Api) -> None:
    ids = [api.enrol("Tom", one_face(RED)) for _ in range(3)] + [api.enrol("Ann", one_face(GREEN))]
    page = api.client.get(URL, params={"page": 1, "size": 2}, headers=api.headers()).json()
    assert page["page_number"] == 1 and page["page_size"] == 2
    assert page["total_elements"] == 4 and page["total_pages"] == 2
    assert [f["image_id"] for f in page["faces"]] == ids[2:]
    tom = api.client.get(URL, params={"subject": "tom"}, headers=api.headers()).json()
    assert tom["total_elements"] == 3 and {f["subject"] for f in tom["faces"]} == {"Tom"}
    assert api.client.get(URL, params={"subject": ""}, headers=api.headers()).json()["faces"] == []
    junk = api.client.get(URL, params={"page": "x", "size": "-3"}, headers=api.headers()).json()
    assert (junk["page_number"], junk["page_size"]) == (0, 20)
    past_end = api.client.get(URL, params={"page": 9}, headers=api.headers()).json()
    assert past_end["faces"] == [] and past_end["page_number"] == 9


def test_delete_by_subject_removes_subject(api: Api) -> None:
    api.enrol("Tom", one_face(RED))
    api.enrol("Tom", one_face(RED))
    api.enrol("Ann", one_face(GREEN))
    assert api.client.delete(URL, params={"subject": "TOM"}, headers=api.headers()).json() == {"deleted": 2}
    assert api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json() == {"subjects": ["Ann"]}
    assert api.client.delete(URL, params={"subject": "Nobody"}, headers=api.headers()).json() == {"deleted": 0}
    blank = api.client.delete(URL, params={"subject": " "}, headers=api.headers())
    assert (blank.status_code, blank.json()) == (400, {"message": "Subject name is empty; ", "code": 26})


def test_delete_without_subject_deletes_every_example(api: Api) -> None:
    """D1: documented behaviour the JS SDK's delete_all() relies on."""
    api.enrol("Tom", one_face(RED))
    api.enrol("Ann", one_face(GREEN))
    assert api.client.delete(URL, headers=api.headers()).json() == {"deleted": 2}
    assert api.client.get(URL, headers=api.headers()).json()["total_elements"] == 0
    recognized = api.client.post(
        "/api/v1/recognition/recognize", files={"file": ("a.png", one_face(RED))}, headers=api.headers()
    ).json()
    assert recognized["result"][0]["subjects"] == []


def test_delete_one_keeps_subject(api: Api) -> None:
    image_id = api.enrol("Tom", one_face(RED))
    response = api.client.delete(f"{URL}/{image_id}", headers=api.headers())
    assert response.json() == {"image_id": image_id, "subject": "Tom"}
    assert api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json() == {"subjects": ["Tom"]}
    again = api.client.delete(f"{URL}/{image_id}", headers=api.headers())
    assert (again.status_code, again.json()) == (404, {"message": f"Image {image_id} not found", "code": 44})
    assert api.client.delete(f"{URL}/not-a-uuid", headers=api.headers()).json()["code"] == 26


def test_delete_many_skips_unknown_ids(api: Api) -> None:
    first = api.enrol("Tom", one_face(RED))
    second = api.enrol("Ann", one_face(GREEN))
    unknown = "00000000-0000-4000-8000-000000000000"
    response = api.client.post(f"{URL}/delete", json=[first, unknown, second], headers=api.headers())
    assert sorted(response.json(), key=lambda e: e["subject"]) == [
        {"image_id": second, "subject": "Ann"},
        {"image_id": first, "subject": "Tom"},
    ]
    assert api.client.post(f"{URL}/delete", json=[first], headers=api.headers()).json() == []
    assert api.client.post(f"{URL}/delete", json={"a": 1}, headers=api.headers()).status_code == 400


def test_download_image_and_static_url(api: Api) -> None:
    picture = one_face(RED)
    image_id = api.enrol("Tom", picture)
    response = api.client.get(f"{URL}/{image_id}/img", headers=api.headers())
    assert response.status_code == 200 and response.content == picture
    assert response.headers["cache-control"] == "private, no-store"
    static = api.client.get(f"/api/v1/static/{api.recognition_key}/images/{image_id}")
    assert static.content == picture
    unknown = "00000000-0000-4000-8000-000000000000"
    assert api.client.get(f"{URL}/{unknown}/img", headers=api.headers()).content == b""
    assert api.client.get(f"/api/v1/static/{api.detection_key}/images/{image_id}").content == b""
    api.client.delete(f"{URL}/{image_id}", headers=api.headers())
    assert api.client.get(f"{URL}/{image_id}/img", headers=api.headers()).content == b"", "D7: image deleted too"


# --- issue 9: authenticated images are never cached by others, and say what they are ----------------


@pytest.mark.parametrize(("fmt", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_stored_images_carry_their_media_type_and_no_shared_caching(api: Api, fmt: str, media_type: str) -> None:
    picture = image([(60, 50, 80, RED)], fmt=fmt)
    image_id = api.enrol("Tom", picture)
    for response in (
        api.client.get(f"{URL}/{image_id}/img", headers=api.headers()),
        api.client.get(f"/api/v1/static/{api.recognition_key}/images/{image_id}"),
    ):
        assert response.content == picture
        assert response.headers["content-type"] == media_type
        assert response.headers["cache-control"] == "private, no-store"
        assert "public" not in response.headers["cache-control"]
        assert response.headers["x-content-type-options"] == "nosniff"
    cross_tenant = api.client.get(f"/api/v1/static/{api.detection_key}/images/{image_id}")
    assert cross_tenant.content == b""
    assert cross_tenant.headers["cache-control"] == "private, no-store"


def test_openapi_lists_the_real_image_media_types(api: Api) -> None:
    path = api.client.get("/openapi.json").json()["paths"]["/api/v1/recognition/faces/{image_id}/img"]
    assert {"image/jpeg", "image/png"} <= set(path["get"]["responses"]["200"]["content"])


def test_static_url_with_an_impossible_key_never_queries(api: Api) -> None:
    """Issue 9: a NUL in the key reached PostgreSQL, whose error logged the statement with the key."""
    image_id = api.enrol("Tom", one_face(RED))
    response = api.client.get(f"/api/v1/static/{api.recognition_key}%00/images/{image_id}")
    assert (response.status_code, response.content) == (200, b"")
