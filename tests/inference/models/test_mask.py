"""The mask plugin with stub sessions: both classifiers run on their own crops, probabilities averaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facekeeper.inference.alignment import ARCFACE_TEMPLATE
from facekeeper.inference.crops import FaceCrops
from facekeeper.inference.models.mask import KERAS, TORCH, MaskPlugin, _Classifier

from ..fakes import StubSession


def plugin(keras_mask: list[float], torch_mask: list[float]) -> tuple[MaskPlugin, StubSession, StubSession]:
    keras = StubSession(lambda blob: np.array([[p, 1 - p] for p in keras_mask]))
    torch = StubSession(lambda blob: np.array([[p, 1 - p] for p in torch_mask]))
    unused = Path("never-converted.onnx")
    classifiers = [_Classifier(KERAS, lambda: unused, 1, keras), _Classifier(TORCH, lambda: unused, 1, torch)]
    return MaskPlugin(classifiers), keras, torch


def faces(count: int) -> FaceCrops:
    image = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    return FaceCrops(image, [ARCFACE_TEMPLATE * 1.5 + 60 * i for i in range(count)])


def test_probabilities_are_averaged_and_named_as_d2_says() -> None:
    mask, _, _ = plugin([0.9, 0.1, 0.7], [0.3, 0.2, 0.1])
    answers = mask.predict(faces(3))
    assert [a.value for a in answers] == ["with_mask", "without_mask", "without_mask"]
    assert [round(a.probability, 3) for a in answers] == [0.6, 0.85, 0.6]


def test_each_classifier_gets_its_own_size_scaled_to_minus_one_one() -> None:
    mask, keras, torch = plugin([0.1, 0.1], [0.1, 0.1])
    mask.predict(faces(2))
    assert keras.inputs[0].shape == torch.inputs[0].shape == (2, 3, 128, 128)
    for blob in (keras.inputs[0], torch.inputs[0]):
        assert blob.min() >= -1.0 and blob.max() <= 1.0 and blob.dtype == np.float32
