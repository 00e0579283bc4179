"""Recognize, verify by image id, and the embeddings routes (CompreFace §4.3, §4.4)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import BLUE_ISH, GREEN, RED, image, one_face

RECOGNIZE = "/api/v1/recognition/recognize"
TWO_FACES = image([(10, 10, 60, GREEN), (110, 80, 100, RED)])  # the red face is bigger


def recognize(api: Api, picture: bytes, **params: object) -> dict:
    response = api.client.post(RECOGNIZE, params=params, files={"file": ("p.png", picture)}, headers=api.headers())
    assert response.status_code == 200, response.text
    return response.json()


def test_recognize_against_empty_collection(api: Api) -> None:
    body = recognize(api, one_face(RED))
    assert body == {
        "result": [
            {"box": {"probability": 0.98039, "x_max": 140, "y_max": 130, "x_min": 60, "y_min": 50}, "subjects": []}
        ]
    }


def test_recognize_orders_faces_by_area_and_ranks_examples(api: Api) -> None:
    api.enrol("Red", one_face(RED))
    api.enrol("Green", one_face(GREEN))
    body = recognize(api, TWO_FACES, prediction_count=2)
    first, second = body["result"]
    assert first["box"]["x_min"] == 110, "biggest face first"
    assert [s["subject"] for s in first["subjects"]] == ["Red", "Green"]
    assert first["subjects"][0]["similarity"] > 0.9 > 0.1 > first["subjects"][1]["similarity"]
    assert second["subjects"][0]["subject"] == "Green"
    assert "plugins_versions" not in body and "execution_time" not in first
    assert "embedding" not in first and "landmarks" not in first


def test_prediction_count_counts_examples_not_subjects(api: Api) -> None:
    for _ in range(3):
        api.enrol("Red", one_face(RED))
    api.enrol("Green", one_face(GREEN))
    subjects = recognize(api, one_face(RED), prediction_count=3)["result"][0]["subjects"]
    assert [s["subject"] for s in subjects] == ["Red", "Red", "Red"]
    assert len(recognize(api, one_face(RED), prediction_count=50)["result"][0]["subjects"]) == 4


def test_limit_keeps_biggest_faces(api: Api) -> None:
    assert len(recognize(api, TWO_FACES, limit=1)["result"]) == 1
    assert recognize(api, TWO_FACES, limit=1)["result"][0]["box"]["x_min"] == 110
    assert len(recognize(api, TWO_FACES, limit=0)["result"]) == 2


def test_status_and_plugins(api: Api) -> None:
    api.enrol("Red", one_face(RED))
    body = recognize(api, one_face(RED), face_plugins="landmarks,calculator,unknown", status="TRUE")
    face = body["result"][0]
    assert len(face["landmarks"]) == 5 and all(len(p) == 2 for p in face["landmarks"])
    assert len(face["embedding"]) == 4
    assert set(face["execution_time"]) == {"detector", "calculator"}
    assert body["plugins_versions"] == {
        "detector": "squares.FaceDetector@test",
        "calculator": "colours.Calculator@test",
    }


def test_repeated_face_plugins_are_joined(api: Api) -> None:
    url = RECOGNIZE + "?face_plugins=landmarks&face_plugins=calculator"
    face = api.client.post(url, files={"file": ("p.png", one_face())}, headers=api.headers()).json()["result"][0]
    assert "landmarks" in face and "embedding" in face


def test_python_sdk_query_quirks(api: Api) -> None:
    """The SDK sends `?&limit=0&status=True`; Double Take sends face_plugins=undefined."""
    url = RECOGNIZE + "?&limit=0&prediction_count=1&det_prob_threshold=0.8&face_plugins=undefined&status=True"
    response = api.client.post(url, files={"file": ("p.jpg", one_face())}, headers=api.headers())
    assert response.status_code == 200
    assert "plugins_versions" in response.json()


def test_parameters_from_multipart_fields(api: Api) -> None:
    response = api.client.post(
        RECOGNIZE, data={"limit": "1", "status": "yes"}, files={"file": ("p.png", TWO_FACES)}, headers=api.headers()
    )
    assert len(response.json()["result"]) == 1 and "plugins_versions" in response.json()


def test_det_prob_threshold_is_strict(api: Api) -> None:
    picture = one_face((250, 0, 204))  # probability exactly 0.8
    ok = recognize(api, picture, det_prob_threshold="0.79")
    assert len(ok["result"]) == 1
    response = api.client.post(
        RECOGNIZE, params={"det_prob_threshold": "0.8"}, files={"file": ("p.png", picture)}, headers=api.headers()
    )
    assert response.json() == {"message": "No face is found in the given image", "code": 28}


@pytest.mark.parametrize("threshold", ["1.5", "-0.1", "NaN"])
def test_det_prob_threshold_out_of_range_is_no_face(api: Api, threshold: str) -> None:
    response = api.client.post(
        RECOGNIZE,
        params={"det_prob_threshold": threshold},
        files={"file": ("p.png", one_face())},
        headers=api.headers(),
    )
    assert (response.status_code, response.json()["code"]) == (400, 28)


def test_detect_faces_false_uses_whole_image(api: Api) -> None:
    body = recognize(api, image([]), detect_faces="false")
    assert body["result"][0]["box"] == {"probability": 1.0, "x_max": 240, "y_max": 200, "x_min": 0, "y_min": 0}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "-1"}, "Limit should be equal or greater than 0; "),
        ({"prediction_count": "0"}, "prediction_count should be equal or greater than 1; "),
        ({"prediction_count": "-1"}, "prediction_count should be equal or greater than 1; "),
        (
            {"limit": "-1", "prediction_count": "0"},
            "Limit should be equal or greater than 0; prediction_count should be equal or greater than 1; ",
        ),
    ],
)
def test_min_violations(api: Api, params: dict[str, str], message: str) -> None:
    response = api.client.post(RECOGNIZE, params=params, files={"file": ("p.png", one_face())}, headers=api.headers())
    assert (response.status_code, response.json()) == (400, {"message": message, "code": 26})


def test_recognize_base64(api: Api) -> None:
    api.enrol("Red", one_face(RED))
    encoded = base64.urlsafe_b64encode(one_face(RED)).decode().rstrip("=")
    response = api.client.post(RECOGNIZE, json={"file": encoded}, headers=api.headers())
    assert response.json()["result"][0]["subjects"][0]["subject"] == "Red"


def test_verify_against_stored_example(api: Api) -> None:
    image_id = api.enrol("Red", one_face(RED))
    response = api.client.post(
        f"/api/v1/recognition/faces/{image_id}/verify",
        params={"status": "true"},
        files={"file": ("p.png", TWO_FACES)},
        headers=api.headers(),
    )
    body = response.json()
    assert [f["subject"] for f in body["result"]] == ["Red", "Red"]
    assert body["result"][0]["similarity"] > 0.9 > 0.1 > body["result"][1]["similarity"]
    assert body["plugins_versions"]["calculator"] == "colours.Calculator@test"


def test_verify_unknown_image_id(api: Api) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    response = api.client.post(
        f"/api/v1/recognition/faces/{unknown}/verify", files={"file": ("p.png", one_face())}, headers=api.headers()
    )
    assert (response.status_code, response.json()) == (404, {"message": "Image Id is incorrect", "code": 44})
    no_face = api.client.post(
        f"/api/v1/recognition/faces/{unknown}/verify", files={"file": ("p.png", image([]))}, headers=api.headers()
    )
    assert no_face.json()["code"] == 28, "detection is checked before the id"


def test_embeddings_recognize_and_verify(api: Api) -> None:
    image_id = api.enrol("Red", one_face(RED))
    api.enrol("Green", one_face(GREEN))
    red = recognize(api, one_face(RED), face_plugins="calculator")["result"][0]["embedding"]
    green = recognize(api, one_face(GREEN), face_plugins="calculator")["result"][0]["embedding"]
    response = api.client.post(
        "/api/v1/recognition/embeddings/recognize",
        params={"prediction_count": 2},
        json={"embeddings": [green, red]},
        headers=api.headers(),
    ).json()
    assert [r["embedding"] for r in response["result"]] == [green, red]
    assert [s["subject"] for s in response["result"][0]["similarities"]] == ["Green", "Red"]
    verified = api.client.post(
        f"/api/v1/recognition/embeddings/faces/{image_id}/verify",
        json={"embeddings": [green, red]},
        headers=api.headers(),
    ).json()["result"]
    assert [v["embedding"] for v in verified] == [red, green], "sorted by similarity"
    assert verified[0]["similarity"] > 0.9


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, 5),
        ({"embeddings": []}, 400, 5),
        ({"embeddings": [[1.0, 2.0]]}, 400, 0),  # dimension mismatch with the collection
        ({"embeddings": [["a", 1, 2, 3]]}, 400, 26),
        ({"embeddings": [[1, 2, 3, 4], [1, 2]]}, 400, 26),
    ],
)
def test_embeddings_recognize_errors(api: Api, body: dict, status: int, code: int) -> None:
    api.enrol("Red", one_face(RED))
    response = api.client.post("/api/v1/recognition/embeddings/recognize", json=body, headers=api.headers())
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_face_without_blue_channel_is_below_default_threshold(api: Api) -> None:
    """Guards the fake detector's contract the tests above rely on."""
    assert recognize(api, one_face(BLUE_ISH))["result"][0]["box"]["probability"] == 0.98039


def test_first_example_after_searching_an_empty_collection(api: Api) -> None:
    """Double Take's health check searches the empty collection before anything is enrolled."""
    assert recognize(api, one_face(RED))["result"][0]["subjects"] == []
    api.enrol("Red", one_face(RED))
    api.enrol("Green", one_face(GREEN))
    subjects = recognize(api, one_face(RED), prediction_count=2)["result"][0]["subjects"]
    assert [s["subject"] for s in subjects] == ["Red", "Green"]


def test_answers_are_bounded_in_matches(tmp_path: Path) -> None:
    """Issue 9: embeddings/recognize answered 45 MB. Faces (or embeddings) x prediction_count, capped at the
    collection's size, may not pass `max_matches_per_request`."""
    settings = squares.test_settings(data_dir=tmp_path, max_matches_per_request=3)
    with TestClient(create_app(settings, squares.registry())) as client:
        api = Api(client)
        api.enrol("Red", one_face(RED))
        api.enrol("Green", one_face(GREEN))
        url = "/api/v1/recognition/embeddings/recognize"
        body = {"embeddings": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]}
        refused = client.post(url, params={"prediction_count": 2}, json=body, headers=api.headers())
        assert refused.status_code == 400
        assert refused.json() == {
            "message": "The answer would hold 4 matches, over the limit of 3; lower prediction_count",
            "code": 0,
        }
        # prediction_count beyond the collection counts as the collection's size, as CompreFace caps it
        one = client.post(
            url, params={"prediction_count": 1000}, json={"embeddings": body["embeddings"][:1]}, headers=api.headers()
        )
        assert one.status_code == 200 and len(one.json()["result"][0]["similarities"]) == 2
