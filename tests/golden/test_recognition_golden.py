"""Recognition really recognises: real photos, real models, through the HTTP API."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, Api
from tests.golden.conftest import photo

pytestmark = pytest.mark.models

PEOPLE = ["obama", "biden", "angelina_jolie", "jennifer_aniston"]
STRANGERS = ["stranger_elon_musk", "stranger_steve_carell"]
FACES = FIXTURES / "faces"


@pytest.fixture(scope="module")
def enrolled(real_api: Api) -> Api:
    for person in PEOPLE:
        response = real_api.client.post(
            "/api/v1/recognition/faces",
            params={"subject": person},
            files={"file": photo(FACES / f"{person}_1.jpg")},
            headers=real_api.headers(),
        )
        assert response.status_code == 201, response.text
    return real_api


def _recognize(api: Api, name: str, **params: object) -> dict:
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"prediction_count": len(PEOPLE), **params},
        files={"file": photo(FACES / f"{name}.jpg")},
        headers=api.headers(),
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("person", PEOPLE)
def test_other_photo_of_enrolled_person_is_recognised(enrolled: Api, person: str) -> None:
    faces = _recognize(enrolled, f"{person}_2")["result"]
    assert len(faces) == 1
    best, *others = faces[0]["subjects"]
    assert best["subject"] == person
    assert best["similarity"] > 0.5
    assert all(other["similarity"] < 0.5 for other in others)


@pytest.mark.parametrize("stranger", STRANGERS)
def test_stranger_matches_nobody(enrolled: Api, stranger: str) -> None:
    subjects = _recognize(enrolled, stranger)["result"][0]["subjects"]
    assert len(subjects) == len(PEOPLE)
    assert all(s["similarity"] < 0.5 for s in subjects), subjects


def test_status_reports_real_models(enrolled: Api) -> None:
    body = _recognize(enrolled, "obama_2", status="true", face_plugins="landmarks,calculator")
    versions = body["plugins_versions"]
    assert {key: versions[key] for key in ("detector", "calculator")} == {
        "detector": "yunet.FaceDetector@2023mar",
        "calculator": "sface.Calculator@2021dec_int8bq",
    }
    assert set(versions) == {"detector", "calculator", "detector.runtime", "calculator.runtime"}
    face = body["result"][0]
    assert len(face["embedding"]) == 128
    box = face["box"]
    assert all(box["x_min"] <= x <= box["x_max"] and box["y_min"] <= y <= box["y_max"] for x, y in face["landmarks"])
    assert face["execution_time"]["detector"] >= 0 and face["execution_time"]["calculator"] > 0


def test_verify_stored_example(enrolled: Api) -> None:
    faces = enrolled.client.get("/api/v1/recognition/faces", params={"subject": "obama"}, headers=enrolled.headers())
    image_id = faces.json()["faces"][0]["image_id"]
    same = enrolled.client.post(
        f"/api/v1/recognition/faces/{image_id}/verify",
        files={"file": photo(FACES / "obama_2.jpg")},
        headers=enrolled.headers(),
    ).json()["result"][0]
    other = enrolled.client.post(
        f"/api/v1/recognition/faces/{image_id}/verify",
        files={"file": photo(FACES / "biden_2.jpg")},
        headers=enrolled.headers(),
    ).json()["result"][0]
    assert same["subject"] == "obama" and same["similarity"] > 0.5 > other["similarity"]


def test_group_photo_is_refused_for_enrolment_and_detected(real_api: Api) -> None:
    response = real_api.client.post(
        "/api/v1/recognition/faces",
        params={"subject": "group"},
        files={"file": photo(FIXTURES / "groups" / "two_faces.jpg")},
        headers=real_api.headers(),
    )
    assert response.json() == {"message": "More than one face in the source image", "code": 31}
    detected = real_api.client.post(
        "/api/v1/detection/detect",
        files={"file": photo(FIXTURES / "groups" / "five_faces.jpg")},
        headers=real_api.headers(real_api.detection_key),
    ).json()["result"]
    assert len(detected) == 5
    areas = [(f["box"]["x_max"] - f["box"]["x_min"]) * (f["box"]["y_max"] - f["box"]["y_min"]) for f in detected]
    assert areas == sorted(areas, reverse=True)
    limited = real_api.client.post(
        "/api/v1/detection/detect",
        params={"limit": 2},
        files={"file": photo(FIXTURES / "groups" / "five_faces.jpg")},
        headers=real_api.headers(real_api.detection_key),
    ).json()["result"]
    assert [f["box"] for f in limited] == [f["box"] for f in detected[:2]]


def test_non_face_image(real_api: Api) -> None:
    response = real_api.client.post(
        "/api/v1/detection/detect",
        files={"file": photo(FIXTURES / "nonface" / "no_face.jpg")},
        headers=real_api.headers(real_api.detection_key),
    )
    assert response.status_code == 400
    assert response.json() == {"message": "No face is found in the given image", "code": 28}


def test_verification_of_two_photos(real_api: Api) -> None:
    files = {
        "source_image": photo(FACES / "biden_1.jpg"),
        "target_image": photo(FIXTURES / "groups" / "five_faces.jpg"),
    }
    result = real_api.client.post(
        "/api/v1/verification/verify", files=files, headers=real_api.headers(real_api.verification_key)
    ).json()["result"][0]
    assert len(result["face_matches"]) == 5
    assert all(m["similarity"] < 0.5 for m in result["face_matches"])
    files = {"source_image": photo(FACES / "biden_1.jpg"), "target_image": photo(FACES / "biden_2.jpg")}
    same = real_api.client.post(
        "/api/v1/verification/verify", files=files, headers=real_api.headers(real_api.verification_key)
    ).json()["result"][0]
    assert same["face_matches"][0]["similarity"] > 0.5
