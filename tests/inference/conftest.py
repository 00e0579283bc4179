"""Fixtures of the inference tests; the fakes themselves live in fakes.py so tests can import them."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def blank_rgb() -> np.ndarray:
    return np.full((480, 640, 3), 128, dtype=np.uint8)
