"""Detection service (CompreFace §4.5)."""

from __future__ import annotations

from tests.conftest import Api
from tests.support.squares import GREEN, RED, image, one_face

URL = "/api/v1/detection/detect"


def detect(api: Api, picture: bytes, **params: object):  # type: ignore[no-untyped-def]
    return api.client.post(
        URL, params=params, files={"file": ("p.png", picture)}, headers=api.headers(api.detection_key)
    )


def test_detect_returns_unrounded_probability_and_no_embedding(api: Api) -> None:
    body = detect(api, one_face(RED)).json()
    face = body["result"][0]
    assert face["box"]["probability"] == 250 / 255
    assert set(face) == {"box"}
    assert "plugins_versions" not in body


def test_detect_with_plugins_and_status(api: Api) -> None:
    body = detect(
        api, image([(10, 10, 60, GREEN), (110, 80, 100, RED)]), face_plugins="calculator,landmarks", status="on"
    ).json()
    assert [f["box"]["x_min"] for f in body["result"]] == [110, 10]
    assert all(len(f["embedding"]) == 4 and len(f["landmarks"]) == 5 for f in body["result"])
    assert body["plugins_versions"] == {
        "detector": "squares.FaceDetector@test",
        "calculator": "colours.Calculator@test",
    }


def test_detect_status_without_calculator_runs_detector_only(api: Api) -> None:
    body = detect(api, one_face(), status="true").json()
    assert body["plugins_versions"] == {"detector": "squares.FaceDetector@test"}
    assert set(body["result"][0]["execution_time"]) == {"detector"}


def test_detect_no_face(api: Api) -> None:
    response = detect(api, image([]))
    assert (response.status_code, response.json()) == (
        400,
        {"message": "No face is found in the given image", "code": 28},
    )


def test_detect_needs_detection_key(api: Api) -> None:
    response = api.client.post(URL, files={"file": ("p.png", one_face())}, headers=api.headers(api.recognition_key))
    assert response.status_code == 404
    assert response.json() == {
        "message": f"Detection service with API Key {api.recognition_key} not found",
        "code": 10,
    }
