"""Age and gender plugins with stub sessions: manifest-driven input, age groups, labels, one batch per photo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facekeeper.inference.alignment import ARCFACE_TEMPLATE
from facekeeper.inference.crops import FaceCrops
from facekeeper.inference.models.agegender import AGE_GROUPS, AgePlugin, GenderPlugin, age_group, chip_model

from ..fakes import StubSession

CLASS_AGES = np.array([0.25, *range(1, 81)])
MANIFEST: dict[str, Any] = {
    "preprocessing": {"face_chip_padding": 0.2},
    "models": {
        "gender": {
            "artifact": {"filename": "gender-v1.onnx"},
            "input": {
                "name": "images",
                "color_order": "RGB",
                "shape": ["N", 3, 32, 32],
                "normalization": {"means": [122.78, 117.0, 104.3], "scale": 0.00390625},
            },
            "output": {"name": "probabilities"},
            "labels": ["female", "male"],
        }
    },
}


def faces(count: int = 2) -> FaceCrops:
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    return FaceCrops(image, [ARCFACE_TEMPLATE + 40 * i for i in range(count)])


def one_hot(age: float) -> np.ndarray:
    row = np.zeros(81)
    row[int(age)] = 1.0
    return row


def test_groups_cover_every_age_once() -> None:
    covered = [age for low, high in AGE_GROUPS for age in range(low, high + 1)]
    assert covered == list(range(0, 101))


@pytest.mark.parametrize(("age", "group"), [(0, (0, 3)), (30, (25, 37)), (45, (38, 47)), (80, (60, 100))])
def test_a_sure_age_lands_in_its_group(age: int, group: tuple[int, int]) -> None:
    found = age_group(one_hot(age), CLASS_AGES)
    assert (found.low, found.high) == group and found.probability == pytest.approx(1.0)


def test_the_group_with_most_mass_wins_and_reports_that_mass() -> None:
    spread = np.zeros(81)
    spread[[26, 30, 36]] = 0.2  # 0.6 in 25-37
    spread[[40, 44]] = 0.2  # 0.4 in 38-47, though 40 and 44 are as likely as any single age
    found = age_group(spread, CLASS_AGES)
    assert (found.low, found.high) == (25, 37) and found.probability == pytest.approx(0.6)


def test_chip_input_follows_the_manifest(tmp_path: Path) -> None:
    model = chip_model(MANIFEST, "gender", tmp_path)
    assert model.path == tmp_path / "gender-v1.onnx" and model.crop.size == 32 and model.crop.antialias
    # dlib's padding: a chip of side 1 + 2 * 0.2 around the unpadded face square.
    assert model.crop.template.min() > 32 * 0.2 / 1.4 and model.crop.template.max() < 32 * 1.2 / 1.4
    chips = np.full((1, 32, 32, 3), 200, dtype=np.uint8)
    blob = model.blob(chips)
    assert blob.shape == (1, 3, 32, 32) and blob.dtype == np.float32
    np.testing.assert_allclose(blob[0, :, 0, 0], (200 - np.array([122.78, 117.0, 104.3])) / 256, rtol=1e-5)


def test_gender_labels_come_from_the_manifest_and_all_faces_run_as_one_batch(tmp_path: Path) -> None:
    session = StubSession(lambda blob: np.array([[0.9, 0.1], [0.2, 0.8]])[: len(blob)], "images")
    plugin = GenderPlugin(chip_model(MANIFEST, "gender", tmp_path), ["female", "male"], session=session)
    answers = plugin.predict(faces(2))
    assert [(a.value, round(a.probability, 2)) for a in answers] == [("female", 0.9), ("male", 0.8)]
    assert [blob.shape for blob in session.inputs] == [(2, 3, 32, 32)]


def test_age_plugin_answers_groups(tmp_path: Path) -> None:
    gender = MANIFEST["models"]["gender"]
    age = {**gender, "input": {**gender["input"], "shape": ["N", 3, 64, 64]}}
    manifest = {**MANIFEST, "models": {"age": age}}
    session = StubSession(lambda blob: np.stack([one_hot(30), one_hot(70)])[: len(blob)], "images")
    plugin = AgePlugin(chip_model(manifest, "age", tmp_path), CLASS_AGES.tolist(), session=session)
    answers = plugin.predict(faces(2))
    assert [(a.low, a.high) for a in answers] == [(25, 37), (60, 100)]
    assert session.inputs[0].shape == (2, 3, 64, 64)
