"""Verification service: two images, or embeddings (CompreFace §4.6)."""

from __future__ import annotations

import base64

from tests.conftest import Api
from tests.support.squares import GREEN, RED, image, one_face

URL = "/api/v1/verification/verify"
GROUP = image([(10, 10, 60, RED), (110, 80, 100, GREEN)])


def verify(api: Api, source: bytes, target: bytes, **params: object):  # type: ignore[no-untyped-def]
    files = {"source_image": ("s.png", source), "target_image": ("t.png", target)}
    return api.client.post(URL, params=params, files=files, headers=api.headers(api.verification_key))


def test_verify_two_images_keeps_detection_order(api: Api) -> None:
    body = verify(api, one_face(RED), GROUP, status="true").json()
    assert len(body["result"]) == 1
    element = body["result"][0]
    assert set(element) == {"source_image_face", "face_matches", "plugins_versions"}
    matches = element["face_matches"]
    assert [m["box"]["x_min"] for m in matches] == [110, 10], "biggest first, not sorted by similarity"
    assert matches[0]["similarity"] < 0.1 < 0.9 < matches[1]["similarity"]
    assert "embedding" not in element["source_image_face"]


def test_source_with_two_faces_is_refused_unless_limited(api: Api) -> None:
    response = verify(api, GROUP, one_face(RED))
    assert (response.status_code, response.json()) == (
        400,
        {"message": "More than one face in the source image", "code": 31},
    )
    assert verify(api, GROUP, one_face(GREEN), limit=1).status_code == 200


def test_no_face_in_either_image(api: Api) -> None:
    assert verify(api, image([]), one_face()).json()["code"] == 28
    assert verify(api, one_face(), image([])).json()["code"] == 28


def test_missing_parts(api: Api) -> None:
    response = api.client.post(
        URL, files={"source_image": ("s.png", one_face())}, headers=api.headers(api.verification_key)
    )
    assert response.json() == {"message": "Required part target_image is missing", "code": 34}


def test_base64_json_and_missing_fields(api: Api) -> None:
    encoded = base64.b64encode(one_face(RED)).decode()
    headers = api.headers(api.verification_key)
    ok = api.client.post(URL, json={"source_image": encoded, "target_image": encoded}, headers=headers)
    assert ok.json()["result"][0]["face_matches"][0]["similarity"] > 0.9
    missing = api.client.post(URL, json={"source_image": encoded}, headers=headers)
    assert missing.json() == {"message": "Field targetImageBase64 cannot be empty", "code": 5}


def test_embeddings_verify_sorted(api: Api) -> None:
    headers = api.headers(api.verification_key)
    body = {"source": [1, 0, 0, 0], "targets": [[0, 1, 0, 0], [1, 0.01, 0, 0]]}
    result = api.client.post("/api/v1/verification/embeddings/verify", json=body, headers=headers).json()["result"]
    assert [r["embedding"] for r in result] == [[1.0, 0.01, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    assert result[0]["similarity"] > 0.99
    empty = api.client.post("/api/v1/verification/embeddings/verify", json={"source": [1]}, headers=headers)
    assert empty.json() == {"message": "Field targets cannot be empty", "code": 5}
    mismatch = api.client.post(
        "/api/v1/verification/embeddings/verify", json={"source": [1, 2], "targets": [[1, 2, 3]]}, headers=headers
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, 0)
