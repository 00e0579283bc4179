"""Every face plugin on the real models and real photos, through the HTTP API (§5, §8).

Ages are checked against the person's age when the photo was taken, within a generous window: the model's
error on photos of known age is about 7 years (docs/models.md), so the answered group must overlap it.
"""

from __future__ import annotations

import io
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from facekeeper.inference.images import decode_image
from tests.conftest import FIXTURES, Api
from tests.support.masks import draw_mask

pytestmark = pytest.mark.models

FACES = FIXTURES / "faces"
ALL = "age,gender,mask,pose"
GENDERS = {
    "obama_1": "male",
    "obama_2": "male",
    "biden_1": "male",
    "biden_2": "male",
    "stranger_elon_musk": "male",
    "stranger_steve_carell": "male",
    "angelina_jolie_1": "female",
    "angelina_jolie_2": "female",
    "jennifer_aniston_1": "female",
    "jennifer_aniston_2": "female",
}
# (youngest, oldest) the person plausibly was in the photo, from the photo's origin (tests/fixtures/NOTICE).
AGE_WINDOWS = {
    "obama_1": (45, 60),  # 2012 official portrait, aged 51
    "biden_1": (60, 80),
    "angelina_jolie_1": (28, 50),
    "jennifer_aniston_2": (30, 55),
    "stranger_elon_musk": (35, 55),
}
PLUGIN_VERSIONS = {
    "age": "agegender.AgeDetector@cydral-age-v1",
    "gender": "agegender.GenderDetector@cydral-gender-v1",
    "mask": "facemask.MaskDetector@mobilenetv2-keras+torch",
    "pose": "tddfa.PoseEstimator@mb1_120x120",
}


def jpeg(image_rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image_rgb).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def detect(api: Api, image: bytes, plugins: str = ALL, **params: object) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/detection/detect",
        params={"face_plugins": plugins, **params},
        files={"file": ("photo.jpg", image, "image/jpeg")},
        headers=api.headers(api.detection_key),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def biggest(api: Api, image: bytes, plugins: str = ALL) -> dict[str, Any]:
    return dict(detect(api, image, plugins, limit=1)["result"][0])


@pytest.mark.parametrize("name", sorted(GENDERS))
def test_gender_matches_the_person(real_api: Api, name: str) -> None:
    gender = biggest(real_api, (FACES / f"{name}.jpg").read_bytes(), "gender")["gender"]
    assert gender["value"] == GENDERS[name]
    assert 0.5 < gender["probability"] <= 1.0


@pytest.mark.parametrize("name", sorted(AGE_WINDOWS))
def test_age_range_is_plausible(real_api: Api, name: str) -> None:
    age = biggest(real_api, (FACES / f"{name}.jpg").read_bytes(), "age")["age"]
    youngest, oldest = AGE_WINDOWS[name]
    assert age["low"] <= oldest and age["high"] >= youngest, age
    assert 0.0 < age["probability"] <= 1.0 and isinstance(age["low"], int) and isinstance(age["high"], int)


@pytest.mark.parametrize("name", ["obama_1", "biden_2", "angelina_jolie_1", "jennifer_aniston_1", "stranger_elon_musk"])
def test_mask_is_absent_on_bare_faces_and_seen_when_drawn(real_api: Api, name: str) -> None:
    data = (FACES / f"{name}.jpg").read_bytes()
    bare = biggest(real_api, data, "mask,landmarks")
    assert bare["mask"]["value"] == "without_mask"
    image = decode_image(data, 10**8)
    masked = draw_mask(image, np.array(bare["landmarks"], dtype=np.float64))
    assert biggest(real_api, jpeg(masked), "mask")["mask"]["value"] == "with_mask"


@pytest.mark.parametrize("name", ["obama_2", "biden_1", "stranger_steve_carell"])
def test_pose_flips_on_a_mirrored_photo(real_api: Api, name: str) -> None:
    image = decode_image((FACES / f"{name}.jpg").read_bytes(), 10**8)
    pose = biggest(real_api, jpeg(image), "pose")["pose"]
    mirrored = biggest(real_api, jpeg(np.ascontiguousarray(image[:, ::-1])), "pose")["pose"]
    assert abs(pose["yaw"]) > 5 and np.sign(mirrored["yaw"]) == -np.sign(pose["yaw"])
    assert abs(pose["yaw"] + mirrored["yaw"]) < 4 and abs(pose["roll"] + mirrored["roll"]) < 4
    assert abs(pose["pitch"] - mirrored["pitch"]) < 4


def test_pose_signs_follow_the_documented_conventions(real_api: Api) -> None:
    """obama_2 looks towards the image's left (yaw < 0); turning the photo clockwise makes roll positive."""
    image = decode_image((FACES / "obama_1.jpg").read_bytes(), 10**8)
    assert biggest(real_api, (FACES / "obama_2.jpg").read_bytes(), "pose")["pose"]["yaw"] < -8
    height, width = image.shape[:2]
    level = biggest(real_api, jpeg(image), "pose")["pose"]["roll"]
    clockwise = cv2.warpAffine(image, cv2.getRotationMatrix2D((width / 2, height / 2), -20, 1.0), (width, height))
    turned = biggest(real_api, jpeg(clockwise), "pose")["pose"]["roll"]
    assert 14 < turned - level < 26


def assert_every_plugin(face: dict[str, Any], versions: dict[str, str], calculator: bool) -> None:
    assert set(face["age"]) == {"low", "high", "probability"} and face["age"]["low"] <= face["age"]["high"]
    assert face["gender"]["value"] in {"male", "female"} and set(face["gender"]) == {"value", "probability"}
    assert face["mask"]["value"] in {"with_mask", "without_mask"} and set(face["mask"]) == {"value", "probability"}
    assert set(face["pose"]) == {"pitch", "yaw", "roll"} and all(isinstance(v, float) for v in face["pose"].values())
    timed = {"detector", *PLUGIN_VERSIONS} | ({"calculator"} if calculator else set())
    assert set(face["execution_time"]) == timed
    assert all(isinstance(ms, float) and ms >= 0 for ms in face["execution_time"].values())
    assert {key: versions[key] for key in PLUGIN_VERSIONS} == PLUGIN_VERSIONS
    # Beside each version, the runtime that model runs on (extra keys CompreFace clients ignore).
    assert set(versions) == timed | {f"{key}.runtime" for key in timed}
    assert all(versions[f"{key}.runtime"].split()[0] in {"onnxruntime", "openvino"} for key in timed)


def test_every_plugin_through_every_face_route(real_api: Api) -> None:
    obama_1, obama_2 = (FACES / "obama_1.jpg").read_bytes(), (FACES / "obama_2.jpg").read_bytes()
    group = (FIXTURES / "groups" / "five_faces.jpg").read_bytes()
    params = {"face_plugins": ALL, "status": "true"}

    detected = detect(real_api, group, ALL, status="true")
    assert len(detected["result"]) == 5
    for face in detected["result"]:
        assert_every_plugin(face, detected["plugins_versions"], calculator=False)

    image_id = real_api.enrol("Barack Obama", obama_1)
    recognized = real_api.client.post(
        "/api/v1/recognition/recognize", params=params, files={"file": ("o.jpg", obama_2)}, headers=real_api.headers()
    ).json()
    assert recognized["result"][0]["subjects"][0]["subject"] == "Barack Obama"
    assert_every_plugin(recognized["result"][0], recognized["plugins_versions"], calculator=True)

    verified = real_api.client.post(
        f"/api/v1/recognition/faces/{image_id}/verify",
        params=params,
        files={"file": ("o.jpg", obama_2)},
        headers=real_api.headers(),
    ).json()
    assert verified["result"][0]["similarity"] > 0.5
    assert_every_plugin(verified["result"][0], verified["plugins_versions"], calculator=True)

    compared = real_api.client.post(
        "/api/v1/verification/verify",
        params=params,
        files={"source_image": ("s.jpg", obama_1), "target_image": ("t.jpg", group)},
        headers=real_api.headers(real_api.verification_key),
    ).json()
    element = compared["result"][0]
    for face in [element["source_image_face"], *element["face_matches"]]:
        assert_every_plugin(face, element["plugins_versions"], calculator=True)
