"""Model names (settings.detector, settings.embedder) and plugin slugs mapped to factories.

Built-in models register through the same functions an outside module would call, and only factories are
stored: nothing is loaded until a factory is called and the model's first scan (or `load()`) runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.base import Detector, Embedder, FaceAttributeModel
from facekeeper.settings import Settings

DetectorFactory = Callable[[Settings], Detector]
EmbedderFactory = Callable[[Settings], Embedder]
AttributeModelFactory = Callable[[Settings], FaceAttributeModel]
Model = TypeVar("Model")

_detectors: dict[str, DetectorFactory] = {}
_embedders: dict[str, EmbedderFactory] = {}
_attribute_models: dict[str, AttributeModelFactory] = {}


def register_detector(name: str, factory: DetectorFactory) -> None:
    _detectors[name] = factory


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    _embedders[name] = factory


def register_attribute_model(slug: str, factory: AttributeModelFactory) -> None:
    """`slug` is the `face_plugins` slug; 'landmarks' and 'calculator' belong to the pipeline itself."""
    _attribute_models[slug] = factory


def detector_names() -> list[str]:
    _register_builtins()
    return sorted(_detectors)


def embedder_names() -> list[str]:
    _register_builtins()
    return sorted(_embedders)


def _build(kind: str, factories: Mapping[str, Callable[[Settings], Model]], name: str, settings: Settings) -> Model:
    _register_builtins()
    factory = factories.get(name)
    if factory is None:
        reason = f"unknown {kind}; known: {_known(factories)}"
        raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=name, reason=reason)
    return factory(settings)


def build_detector(name: str, settings: Settings) -> Detector:
    return _build("detector", _detectors, name, settings)


def build_embedder(name: str, settings: Settings) -> Embedder:
    return _build("embedder", _embedders, name, settings)


def build_attribute_models(settings: Settings) -> dict[str, FaceAttributeModel]:
    """Every registered attribute model, by slug; each loads its weights lazily on first use."""
    _register_builtins()
    return {slug: factory(settings) for slug, factory in _attribute_models.items()}


def _known(factories: Mapping[str, Callable[[Settings], object]]) -> str:
    return ", ".join(sorted(factories)) or "none"


def _yunet(settings: Settings) -> Detector:
    from facekeeper.inference.model_files import YUNET_INT8
    from facekeeper.inference.models.yunet import YuNetDetector

    return YuNetDetector(YUNET_INT8.locate(), settings.onnx_threads)


def _sface(settings: Settings) -> Embedder:
    from facekeeper.inference.model_files import SFACE_INT8
    from facekeeper.inference.models.sface import SFaceEmbedder

    return SFaceEmbedder(SFACE_INT8.locate(), settings.onnx_threads)


def _register_builtins() -> None:
    """Called on first use, not at import; a name an outside module registered first keeps its factory."""
    if "yunet" not in _detectors:
        register_detector("yunet", _yunet)
    if "sface" not in _embedders:
        register_embedder("sface", _sface)
