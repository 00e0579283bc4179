"""docs/models.md states the coefficients each shipped embedder carries in code (one source of truth)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facekeeper.inference.registry import default_registry
from facekeeper.settings import Settings
from tests.support.recognition_quality import SHIPPED_EMBEDDERS

MODELS_DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<c0>[\d.]+) \| (?P<c1>[\d.]+) \| (?P<far>[\d.]+) % \|", re.MULTILINE)


def documented() -> dict[str, tuple[float, float, float]]:
    return {m["name"]: (float(m["c0"]), float(m["c1"]), float(m["far"])) for m in ROW.finditer(MODELS_DOC.read_text())}


@pytest.mark.parametrize("name", SHIPPED_EMBEDDERS)
def test_the_calibration_table_holds_the_coefficients_in_code(name: str) -> None:
    coefficients = default_registry().build_embedder(name, Settings()).coefficients
    c0, c1, far_at_half = documented()[name]
    assert (c0, c1) == pytest.approx((coefficients.c0, coefficients.c1), abs=1e-4)
    assert far_at_half <= 0.5  # the calibration target on false accepts at similarity 0.5
