"""Plugin quality over the whole labelled set in ../shared/faces (skipped on a clone without it).

The bounds sit a little under what benchmarks/plugin_quality.py measured (docs/models.md), so a regression
in alignment, crops or conversion shows here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facekeeper.inference.pipeline import FacePipeline
from tests.conftest import SHARED_FACES
from tests.support.plugin_quality import gender_accuracy, mask_rates, plugin_pipeline, pose_flip_errors

pytestmark = [
    pytest.mark.models,
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_FACES.is_dir(), reason="../shared/faces is not present on this checkout"),
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FacePipeline]:
    yield plugin_pipeline(Path(tmp_path_factory.mktemp("plugins")))


def test_gender_accuracy(pipeline: FacePipeline) -> None:
    gender = gender_accuracy(pipeline, SHARED_FACES)
    assert gender.total >= 100 and gender.percent >= 98.0, gender


def test_mask_false_positives_and_drawn_masks(pipeline: FacePipeline) -> None:
    masks = mask_rates(pipeline, SHARED_FACES)
    assert masks.false_positives.percent <= 2.0, masks.false_positives
    assert masks.drawn_hits.percent >= 97.0, masks.drawn_hits


def test_pose_flip_errors(pipeline: FacePipeline) -> None:
    flips = pose_flip_errors(pipeline, SHARED_FACES)
    assert max(flips.yaw, flips.pitch, flips.roll) < 2.5 and flips.sign_agreement >= 0.95, flips
