"""Face plugins through every face route: shapes, presence rules and `status=true` fields (§5, §8)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.squares import GREEN, RED, image, one_face

ALL = "age,gender,mask,pose"
SLUGS = {"age", "gender", "mask", "pose"}
VERSIONS = {
    "detector": "squares.FaceDetector@test",
    "calculator": "colours.Calculator@test",
    "age": "colours.AgePlugin@test",
    "gender": "colours.GenderPlugin@test",
    "mask": "colours.MaskPlugin@test",
    "pose": "colours.PosePlugin@test",
}


def assert_plugin_shapes(face: dict[str, Any]) -> None:
    assert set(face["age"]) == {"low", "high", "probability"}
    assert isinstance(face["age"]["low"], int) and face["age"]["low"] <= face["age"]["high"]
    assert set(face["gender"]) == {"value", "probability"} and face["gender"]["value"] in {"male", "female"}
    assert set(face["mask"]) == {"value", "probability"} and face["mask"]["value"] == "without_mask"
    assert set(face["pose"]) == {"pitch", "yaw", "roll"}
    assert all(isinstance(value, float) for value in face["pose"].values())


def assert_status_fields(face: dict[str, Any], versions: dict[str, str], timed: set[str]) -> None:
    assert set(face["execution_time"]) == timed
    assert all(isinstance(ms, float) and ms >= 0 for ms in face["execution_time"].values())
    assert versions == {key: VERSIONS[key] for key in timed}


def test_detect_runs_every_plugin_and_reports_each(api: Api) -> None:
    response = api.client.post(
        "/api/v1/detection/detect",
        params={"face_plugins": ALL, "status": "true"},
        files={"file": ("p.png", image([(10, 10, 60, GREEN), (110, 80, 100, RED)]))},
        headers=api.headers(api.detection_key),
    )
    body = response.json()
    assert response.status_code == 200, body
    for face in body["result"]:
        assert_plugin_shapes(face)
        assert "embedding" not in face
        assert_status_fields(face, body["plugins_versions"], SLUGS | {"detector"})
    assert [face["gender"]["value"] for face in body["result"]] == ["male", "female"]  # red is biggest


def test_recognize_reports_every_plugin_with_the_calculator(api: Api) -> None:
    api.enrol("Red", one_face(RED))
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"face_plugins": "age,gender,mask,pose,landmarks", "status": "true"},
        files={"file": ("p.png", one_face(RED))},
        headers=api.headers(),
    )
    body = response.json()
    face = body["result"][0]
    assert_plugin_shapes(face)
    assert len(face["landmarks"]) == 5 and "embedding" not in face
    assert face["subjects"][0]["subject"] == "Red"
    assert_status_fields(face, body["plugins_versions"], SLUGS | {"detector", "calculator"})


def test_verify_by_image_id_reports_every_plugin(api: Api) -> None:
    image_id = api.enrol("Red", one_face(RED))
    response = api.client.post(
        f"/api/v1/recognition/faces/{image_id}/verify",
        params={"face_plugins": ALL, "status": "true"},
        files={"file": ("p.png", one_face(RED))},
        headers=api.headers(),
    )
    body = response.json()
    face = body["result"][0]
    assert_plugin_shapes(face)
    assert_status_fields(face, body["plugins_versions"], SLUGS | {"detector", "calculator"})


def test_verification_reports_every_plugin_on_both_images(api: Api) -> None:
    response = api.client.post(
        "/api/v1/verification/verify",
        params={"face_plugins": ALL, "status": "true"},
        files={"source_image": ("s.png", one_face(RED)), "target_image": ("t.png", one_face(GREEN))},
        headers=api.headers(api.verification_key),
    )
    body = response.json()
    result = body["result"][0]
    for face in [result["source_image_face"], *result["face_matches"]]:
        assert_plugin_shapes(face)
        assert_status_fields(face, result["plugins_versions"], SLUGS | {"detector", "calculator"})
    assert result["source_image_face"]["gender"]["value"] == "male"
    assert result["face_matches"][0]["gender"]["value"] == "female"


def test_plugins_appear_only_when_asked_and_status_only_with_status(api: Api) -> None:
    response = api.client.post(
        "/api/v1/detection/detect",
        params={"face_plugins": "gender,undefined"},
        files={"file": ("p.png", one_face())},
        headers=api.headers(api.detection_key),
    )
    body = response.json()
    assert set(body["result"][0]) == {"box", "gender"}
    assert "plugins_versions" not in body


@pytest.mark.parametrize("detect_faces", ["false", "true"])
def test_without_detection_pose_and_mask_are_skipped(api: Api, detect_faces: str) -> None:
    api.enrol("Red", one_face(RED))
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"face_plugins": ALL, "status": "true", "detect_faces": detect_faces},
        json={"file": base64.b64encode(one_face(RED)).decode()},
        headers=api.headers(),
    )
    body = response.json()
    face = body["result"][0]
    expected = {"age", "gender"} if detect_faces == "false" else SLUGS
    assert SLUGS & set(face) == expected
    assert set(body["plugins_versions"]) == expected | {"detector", "calculator"}


def test_a_server_without_plugins_ignores_their_slugs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from facekeeper.app import create_app
    from tests.support import squares

    settings = squares.test_settings(data_dir=tmp_path, plugins="gender")
    with TestClient(create_app(settings, squares.registry())) as client:
        bare = Api(client)
        response = client.post(
            "/api/v1/detection/detect",
            params={"face_plugins": ALL, "status": "true"},
            files={"file": ("p.png", one_face())},
            headers=bare.headers(bare.detection_key),
        )
    body = response.json()
    assert set(body["result"][0]) == {"box", "gender", "execution_time"}
    assert set(body["plugins_versions"]) == {"detector", "gender"}
