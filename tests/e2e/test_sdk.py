"""The official CompreFace Python SDK (compreface-sdk 0.6.0), unchanged, against a live Facekeeper.

The SDK builds its own URLs (`?&limit=...`, `status=True`, unencoded subjects) and calls `.json()` on
every answer, so these tests catch wire-format breaks that TestClient-based tests cannot see.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from compreface import CompreFace
from compreface.service import DetectionService, RecognitionService, VerificationService

from tests.e2e.server import GROUPS, NONFACE, ServerProcess, face

pytestmark = [pytest.mark.slow, pytest.mark.models]


def sdk(server: ServerProcess) -> CompreFace:
    return CompreFace(domain="http://127.0.0.1", port=str(server.port))


@pytest.fixture
def recognition(server: ServerProcess, recognition_key: str) -> RecognitionService:
    """The module's recognition service, its collection emptied first (a CLI key per test costs ~2 s)."""
    emptied = requests.delete(
        f"{server.url}/api/v1/recognition/subjects", headers={"x-api-key": recognition_key}, timeout=10
    )
    assert emptied.status_code == 200, emptied.text
    return sdk(server).init_face_recognition(recognition_key)


@pytest.fixture
def detection(server: ServerProcess, detection_key: str) -> DetectionService:
    return sdk(server).init_face_detection(detection_key)


@pytest.fixture
def verification(server: ServerProcess, verification_key: str) -> VerificationService:
    return sdk(server).init_face_verification(verification_key)


def enrol(recognition: RecognitionService, subject: str, image: str) -> str:
    added = recognition.get_face_collection().add(image_path=str(face(image)), subject=subject)
    assert set(added) == {"image_id", "subject"}, added
    assert added["subject"] == subject
    uuid.UUID(added["image_id"])
    return str(added["image_id"])


def box_area(item: dict[str, Any]) -> int:
    box = item["box"]
    return int((box["x_max"] - box["x_min"]) * (box["y_max"] - box["y_min"]))


def test_subjects_add_list_rename_delete(recognition: RecognitionService) -> None:
    subjects = recognition.get_subjects()
    assert subjects.list() == {"subjects": []}
    assert subjects.add("Barack Obama") == {"subject": "Barack Obama"}
    assert subjects.add("Joe Biden") == {"subject": "Joe Biden"}
    duplicate = subjects.add("barack obama")
    assert duplicate == {"message": "Subject already exists", "code": 43}
    assert sorted(subjects.list()["subjects"]) == ["Barack Obama", "Joe Biden"]

    assert subjects.update("Joe Biden", "President Biden") == {"updated": True}
    assert sorted(subjects.list()["subjects"]) == ["Barack Obama", "President Biden"]

    assert subjects.delete("Barack Obama") == {"subject": "Barack Obama"}
    assert subjects.list() == {"subjects": ["President Biden"]}
    missing = subjects.delete("Barack Obama")
    assert missing == {"message": "Subject Barack Obama not found", "code": 42}

    assert subjects.delete_all() == {"deleted": 1}
    assert subjects.list() == {"subjects": []}


def test_add_list_and_delete_examples(recognition: RecognitionService, server: ServerProcess) -> None:
    collection = recognition.get_face_collection()
    obama_1 = enrol(recognition, "Barack Obama", "obama_1.jpg")
    obama_2 = enrol(recognition, "Barack Obama", "obama_2.jpg")
    biden = enrol(recognition, "Joe Biden", "biden_1.jpg")

    listed = collection.list()
    assert listed["total_elements"] == 3
    assert listed["page_number"] == 0 and listed["page_size"] == 20 and listed["total_pages"] == 1
    assert sorted((f["image_id"], f["subject"]) for f in listed["faces"]) == sorted(
        [(obama_1, "Barack Obama"), (obama_2, "Barack Obama"), (biden, "Joe Biden")]
    )
    assert sorted(recognition.get_subjects().list()["subjects"]) == ["Barack Obama", "Joe Biden"]

    # The stored example is the uploaded file, byte for byte.
    stored = requests.get(
        f"{server.url}/api/v1/recognition/faces/{biden}/img", headers={"x-api-key": recognition.api_key}, timeout=10
    )
    assert stored.status_code == 200
    assert stored.content == face("biden_1.jpg").read_bytes()

    assert collection.delete(obama_1) == {"image_id": obama_1, "subject": "Barack Obama"}
    assert collection.delete(obama_1) == {"message": f"Image {obama_1} not found", "code": 44}
    remaining = collection.list()
    assert remaining["total_elements"] == 2
    assert {f["image_id"] for f in remaining["faces"]} == {obama_2, biden}

    # delete_all(subject): every example of that subject, and the subject itself.
    assert collection.delete_all("Barack Obama") == {"deleted": 1}
    assert [(f["image_id"], f["subject"]) for f in collection.list()["faces"]] == [(biden, "Joe Biden")]
    assert recognition.get_subjects().list() == {"subjects": ["Joe Biden"]}


def test_add_example_refuses_group_photo_and_no_face(recognition: RecognitionService) -> None:
    collection = recognition.get_face_collection()
    two = collection.add(image_path=str(GROUPS / "two_faces.jpg"), subject="Group")
    assert two == {"message": "More than one face in the source image", "code": 31}
    none = collection.add(image_path=str(NONFACE / "no_face.jpg"), subject="Nobody")
    assert none == {"message": "No face is found in the given image", "code": 28}
    assert collection.list()["faces"] == []
    assert recognition.get_subjects().list() == {"subjects": []}


def test_recognize_finds_the_right_person(recognition: RecognitionService) -> None:
    enrol(recognition, "Barack Obama", "obama_1.jpg")
    enrol(recognition, "Joe Biden", "biden_1.jpg")
    enrol(recognition, "Angelina Jolie", "angelina_jolie_1.jpg")

    for image, expected in [("obama_2.jpg", "Barack Obama"), ("biden_2.jpg", "Joe Biden")]:
        answer = recognition.recognize(image_path=str(face(image)))
        assert set(answer) == {"result"}, answer
        assert len(answer["result"]) == 1
        found = answer["result"][0]
        assert set(found) == {"box", "subjects"}
        assert len(found["subjects"]) == 1  # prediction_count defaults to 1
        best = found["subjects"][0]
        assert best["subject"] == expected
        assert best["similarity"] > 0.5

    stranger = recognition.recognize(image_path=str(face("stranger_elon_musk.jpg")))
    assert len(stranger["result"]) == 1
    assert stranger["result"][0]["subjects"][0]["similarity"] < 0.5


def test_recognize_with_sdk_options(recognition: RecognitionService) -> None:
    """The SDK sends `?&limit=0&prediction_count=3&face_plugins=...&status=True`."""
    enrol(recognition, "Barack Obama", "obama_1.jpg")
    enrol(recognition, "Joe Biden", "biden_1.jpg")
    options = {
        "limit": 0,
        "prediction_count": 3,
        "det_prob_threshold": 0.8,
        "face_plugins": "calculator,landmarks",
        "status": True,
    }
    answer = recognition.recognize(image_path=str(face("obama_2.jpg")), options=options)
    assert "message" not in answer, answer
    found = answer["result"][0]
    # Only two examples exist: prediction_count=3 gives both, best first.
    assert [s["subject"] for s in found["subjects"]] == ["Barack Obama", "Joe Biden"]
    assert found["subjects"][0]["similarity"] > 0.5 > found["subjects"][1]["similarity"]
    assert len(found["embedding"]) == 128  # SFace
    assert len(found["landmarks"]) == 5 and all(len(point) == 2 for point in found["landmarks"])
    assert {"detector", "calculator"} <= set(found["execution_time"])
    assert {"detector", "calculator"} <= set(answer["plugins_versions"])


def test_recognize_group_photo_limit_and_empty_collection(recognition: RecognitionService) -> None:
    """An empty collection answers 200 with `subjects: []` for every face (Double Take's health check)."""
    group = str(GROUPS / "five_faces.jpg")
    answer = recognition.recognize(image_path=group)
    assert len(answer["result"]) == 5
    assert all(found["subjects"] == [] for found in answer["result"])
    areas = [box_area(found) for found in answer["result"]]
    assert areas == sorted(areas, reverse=True)

    limited = recognition.recognize(image_path=group, options={"limit": 2})
    assert [box_area(found) for found in limited["result"]] == areas[:2]

    no_face = recognition.recognize(image_path=str(NONFACE / "no_face.jpg"))
    assert no_face == {"message": "No face is found in the given image", "code": 28}


def test_verify_against_stored_example(recognition: RecognitionService) -> None:
    collection = recognition.get_face_collection()
    image_id = enrol(recognition, "Barack Obama", "obama_1.jpg")

    same = collection.verify(image_path=str(face("obama_2.jpg")), image_id=image_id)
    assert len(same["result"]) == 1
    assert same["result"][0]["subject"] == "Barack Obama"
    assert same["result"][0]["similarity"] > 0.5
    assert "box" in same["result"][0]

    other = collection.verify(image_path=str(face("biden_1.jpg")), image_id=image_id)
    assert other["result"][0]["similarity"] < 0.5

    unknown = collection.verify(image_path=str(face("obama_2.jpg")), image_id=str(uuid.uuid4()))
    assert unknown == {"message": "Image Id is incorrect", "code": 44}


def test_detection_detect(detection: DetectionService) -> None:
    group = str(GROUPS / "five_faces.jpg")
    answer = detection.detect(image_path=group)
    assert set(answer) == {"result"}, answer
    assert len(answer["result"]) == 5
    for found in answer["result"]:
        assert set(found) == {"box"}
        assert 0.0 < found["box"]["probability"] <= 1.0
        assert found["box"]["x_min"] < found["box"]["x_max"] and found["box"]["y_min"] < found["box"]["y_max"]
    areas = [box_area(found) for found in answer["result"]]
    assert areas == sorted(areas, reverse=True)

    options = {"limit": 1, "face_plugins": "landmarks,calculator", "status": True}
    single = detection.detect(image_path=str(face("obama_1.jpg")), options=options)
    assert len(single["result"]) == 1
    assert len(single["result"][0]["landmarks"]) == 5
    assert len(single["result"][0]["embedding"]) == 128
    assert "detector" in single["plugins_versions"]

    assert detection.detect(image_path=str(NONFACE / "no_face.jpg")) == {
        "message": "No face is found in the given image",
        "code": 28,
    }


def test_verification_verify(verification: VerificationService) -> None:
    same = verification.verify(source_image_path=str(face("obama_1.jpg")), target_image_path=str(face("obama_2.jpg")))
    assert set(same) == {"result"}, same
    assert len(same["result"]) == 1
    element = same["result"][0]
    assert "box" in element["source_image_face"]
    assert len(element["face_matches"]) == 1
    assert element["face_matches"][0]["similarity"] > 0.5

    different = verification.verify(
        source_image_path=str(face("obama_1.jpg")), target_image_path=str(face("jennifer_aniston_1.jpg"))
    )
    assert different["result"][0]["face_matches"][0]["similarity"] < 0.5

    group = verification.verify(
        source_image_path=str(face("obama_1.jpg")), target_image_path=str(GROUPS / "five_faces.jpg")
    )
    matches = group["result"][0]["face_matches"]
    assert len(matches) == 5
    assert [box_area(m) for m in matches] == sorted((box_area(m) for m in matches), reverse=True)

    too_many = verification.verify(
        source_image_path=str(GROUPS / "two_faces.jpg"), target_image_path=str(face("obama_1.jpg"))
    )
    assert too_many == {"message": "More than one face in the source image", "code": 31}


def test_wrong_key_type_is_refused(server: ServerProcess, detection_key: str) -> None:
    """A detection key on the recognition service: 404 code 10, as a JSON body the SDK can read."""
    recognition = sdk(server).init_face_recognition(detection_key)
    answer = recognition.recognize(image_path=str(face("obama_1.jpg")))
    assert answer == {"message": f"Recognition service with API Key {detection_key} not found", "code": 10}
