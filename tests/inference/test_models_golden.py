"""Real YuNet + SFace on real photos (tests/fixtures): the claims docs/models.md makes about faces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import combinations

import numpy as np
import pytest

from facekeeper.domain import Face, ScanOptions, l2_normalize
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.registry import build_pipeline
from facekeeper.settings import Settings

from .fakes import FIXTURES

pytestmark = pytest.mark.models

CALCULATOR = ScanOptions(plugins=frozenset({"calculator"}))
IDENTITIES = ["obama", "biden", "angelina_jolie", "jennifer_aniston"]
STRANGERS = ["stranger_elon_musk", "stranger_steve_carell"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FacePipeline]:
    faces = build_pipeline(Settings(data_dir=tmp_path_factory.mktemp("golden-models"), plugins=""))
    faces.load()
    yield faces


def embedding_of(face: Face) -> np.ndarray:
    assert face.embedding is not None
    return face.embedding


@pytest.fixture(scope="module")
def embeddings(pipeline: FacePipeline) -> dict[str, np.ndarray]:
    names = [f"{person}_{n}" for person in IDENTITIES for n in (1, 2)] + STRANGERS
    return {
        name: l2_normalize(embedding_of(pipeline.scan(read(f"faces/{name}.jpg"), CALCULATOR).faces[0]))
        for name in names
    }


def read(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def similarity(pipeline: FacePipeline, a: np.ndarray, b: np.ndarray) -> float:
    return pipeline.embedder.coefficients.similarity(float(np.linalg.norm(a - b)))


def test_portrait_has_one_face_with_landmarks_inside_the_box(pipeline: FacePipeline) -> None:
    scan = pipeline.scan(read("faces/obama_1.jpg"), ScanOptions())
    assert len(scan.faces) == 1
    face = scan.faces[0]
    assert face.box.probability > pipeline.detector.default_threshold
    assert len(face.landmarks) == 5
    for x, y in face.landmarks:
        assert face.box.x_min <= x <= face.box.x_max and face.box.y_min <= y <= face.box.y_max
    left_eye, right_eye = face.landmarks[0], face.landmarks[1]
    assert left_eye[0] < right_eye[0]  # image-left eye first


@pytest.mark.parametrize(("name", "count"), [("groups/five_faces.jpg", 5), ("groups/two_faces.jpg", 2)])
def test_group_photos_have_the_right_face_count(pipeline: FacePipeline, name: str, count: int) -> None:
    scan = pipeline.scan(read(name), ScanOptions())
    assert len(scan.faces) == count
    areas = [face.box.area for face in scan.faces]
    assert areas == sorted(areas, reverse=True)


def test_non_face_image_has_no_face(pipeline: FacePipeline) -> None:
    with pytest.raises(FacekeeperError) as caught:
        pipeline.scan(read("nonface/no_face.jpg"), ScanOptions())
    assert caught.value.error is Error.NO_FACES_FOUND


@pytest.mark.parametrize("person", IDENTITIES)
def test_same_person_is_above_one_half(pipeline: FacePipeline, embeddings: dict[str, np.ndarray], person: str) -> None:
    assert similarity(pipeline, embeddings[f"{person}_1"], embeddings[f"{person}_2"]) > 0.5


def test_different_people_are_below_one_half(pipeline: FacePipeline, embeddings: dict[str, np.ndarray]) -> None:
    for a, b in combinations(embeddings, 2):
        if a.rsplit("_", 1)[0] != b.rsplit("_", 1)[0]:
            assert similarity(pipeline, embeddings[a], embeddings[b]) < 0.5, (a, b)


def test_embedding_is_128_floats_and_deterministic(pipeline: FacePipeline) -> None:
    first = pipeline.scan(read("faces/biden_1.jpg"), CALCULATOR)
    second = pipeline.scan(read("faces/biden_1.jpg"), CALCULATOR)
    embedding = embedding_of(first.faces[0])
    assert embedding.shape == (128,)
    assert embedding.dtype == np.float32
    np.testing.assert_allclose(embedding, embedding_of(second.faces[0]), rtol=1e-5, atol=1e-5)
    runtimes = {key: first.plugins_versions.pop(f"{key}.runtime") for key in ("detector", "calculator")}
    assert first.plugins_versions == {
        "detector": "yunet.FaceDetector@2023mar",
        "calculator": "sface.Calculator@2021dec_int8bq",
    }
    # The runtime each model runs on (FACEKEEPER_RUNTIME=auto by default), with its version and precision.
    for runtime in runtimes.values():
        assert re.fullmatch(r"(onnxruntime|openvino) \d+\.\d+\.\d+ (f32|bf16|f16)", runtime), runtime
