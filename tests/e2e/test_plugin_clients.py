"""The face-plugin calls of real clients, unchanged, against a live server (issue 11):

- the official Python SDK's `detect` example (`face_plugins=age,gender`, `status=True`);
- the JavaScript SDK README's recognize and detect (`calculator,age,gender,landmarks`), as its URLs look;
- Double Take's recognize with `face_plugins=age,gender,mask` and `det_prob_threshold=0.8`;
- the CompreFace UI's repeated `face_plugins` parameters.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from compreface import CompreFace

from tests.e2e.server import GROUPS, ServerProcess, face

pytestmark = [pytest.mark.slow, pytest.mark.models]


def with_runtimes(keys: set[str]) -> set[str]:
    """`plugins_versions` keys: each model's version and, beside it, the runtime it runs on."""
    return keys | {f"{key}.runtime" for key in keys}


def assert_age_gender(found: dict[str, Any]) -> None:
    assert set(found["age"]) == {"low", "high", "probability"} and found["age"]["low"] <= found["age"]["high"]
    assert found["gender"]["value"] in {"male", "female"} and 0.5 <= found["gender"]["probability"] <= 1.0


def test_python_sdk_detect_example(server: ServerProcess, detection_key: str) -> None:
    detection = CompreFace(domain="http://127.0.0.1", port=str(server.port)).init_face_detection(detection_key)
    options = {"limit": 0, "det_prob_threshold": 0.8, "face_plugins": "age,gender", "status": True}
    answer = detection.detect(image_path=str(face("jennifer_aniston_1.jpg")), options=options)
    found = answer["result"][0]
    assert_age_gender(found)
    assert found["gender"]["value"] == "female"
    assert set(found["execution_time"]) == {"detector", "age", "gender"}
    assert set(answer["plugins_versions"]) == with_runtimes({"detector", "age", "gender"})


def test_javascript_sdk_readme_recognize_and_detect(
    server: ServerProcess, recognition_key: str, detection_key: str
) -> None:
    enrolled = requests.post(
        f"{server.url}/api/v1/recognition/faces?subject=Joe%20Biden",
        files={"file": ("example.jpg", face("biden_1.jpg").read_bytes(), "image/jpeg")},
        headers={"x-api-key": recognition_key},
        timeout=30,
    )
    assert enrolled.status_code == 201, enrolled.text
    query = "limit=0&det_prob_threshold=0.8&prediction_count=1&face_plugins=calculator,age,gender,landmarks&status=true"
    recognized = requests.post(
        f"{server.url}/api/v1/recognition/recognize?{query}",
        json={"file": base64.b64encode(face("biden_2.jpg").read_bytes()).decode()},
        headers={"x-api-key": recognition_key},
        timeout=30,
    ).json()
    found = recognized["result"][0]
    assert found["subjects"][0]["subject"] == "Joe Biden"
    assert_age_gender(found)
    assert len(found["embedding"]) == 128 and len(found["landmarks"]) == 5
    assert set(recognized["plugins_versions"]) == with_runtimes({"detector", "calculator", "age", "gender"})

    detected = requests.post(
        f"{server.url}/api/v1/detection/detect?limit=0&det_prob_threshold=0.8&face_plugins=calculator,age,gender,landmarks&status=true",
        files={"file": ("example.jpg", (GROUPS / "five_faces.jpg").read_bytes(), "image/jpeg")},
        headers={"x-api-key": detection_key},
        timeout=30,
    ).json()
    assert len(detected["result"]) == 5
    for found in detected["result"]:
        assert_age_gender(found)
        assert len(found["embedding"]) == 128 and len(found["landmarks"]) == 5


def test_double_take_recognize_with_age_gender_mask(server: ServerProcess, recognition_key: str) -> None:
    answer = requests.post(
        f"{server.url}/api/v1/recognition/recognize",
        params={"det_prob_threshold": "0.8", "face_plugins": "age,gender,mask"},
        files={"file": ("image.jpg", face("obama_2.jpg").read_bytes(), "image/jpeg")},
        headers={"x-api-key": recognition_key},
        timeout=30,
    ).json()
    found = answer["result"][0]
    assert_age_gender(found)
    assert found["gender"]["value"] == "male"
    assert found["mask"] == {"value": "without_mask", "probability": found["mask"]["probability"]}
    assert isinstance(found["subjects"], list) and "box" in found
    assert "execution_time" not in found and "plugins_versions" not in answer


def test_ui_repeated_face_plugins(server: ServerProcess, detection_key: str) -> None:
    answer = requests.post(
        f"{server.url}/api/v1/detection/detect?face_plugins=landmarks&face_plugins=gender&face_plugins=age&face_plugins=pose",
        files={"file": ("photo.jpg", face("obama_1.jpg").read_bytes(), "image/jpeg")},
        headers={"x-api-key": detection_key},
        timeout=30,
    ).json()
    found = answer["result"][0]
    assert {"landmarks", "gender", "age", "pose"} <= set(found) and "mask" not in found
