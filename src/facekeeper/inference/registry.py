"""Model names (settings.detector, settings.embedder) and plugin slugs (settings.plugins) mapped to factories.

A `ModelRegistry` is an object built by `create_app`, never a module global: each app (and each test) has
its own. Built-in models register through the same hook an outside package uses, a function
`register(registry)`; outside packages declare theirs as an entry point in the `facekeeper.models` group.
Only factories are stored: nothing is built until a name is selected, nothing loaded until first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import TypeVar

from facekeeper.domain import CALCULATOR, LANDMARKS
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.base import Detector, Embedder, FacePlugin
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.pool import InferencePool
from facekeeper.settings import Settings

DetectorFactory = Callable[[Settings], Detector]
EmbedderFactory = Callable[[Settings], Embedder]
PluginFactory = Callable[[Settings], FacePlugin]
# Builds embedders whose names are not registered one by one (`<name>-flip`, operator manifests), or None.
EmbedderResolver = Callable[["ModelRegistry", str, Settings], Embedder | None]
Model = TypeVar("Model")

ENTRY_POINT_GROUP = "facekeeper.models"
# The pipeline answers these slugs itself; a plugin may not take them.
RESERVED_SLUGS = frozenset({CALCULATOR, LANDMARKS})
BUILTIN_MODULES = (
    "facekeeper.inference.models.yunet",
    "facekeeper.inference.models.sface",
    "facekeeper.inference.models.dlib_resnet",
    "facekeeper.inference.models.composite",
    "facekeeper.inference.models.manifest",
    "facekeeper.inference.models.agegender",
    "facekeeper.inference.models.mask",
    "facekeeper.inference.models.pose",
)


class ModelRegistry:
    """Factories by name; a later registration under the same name replaces the earlier one."""

    def __init__(self) -> None:
        self._detectors: dict[str, DetectorFactory] = {}
        self._embedders: dict[str, EmbedderFactory] = {}
        self._plugins: dict[str, PluginFactory] = {}
        self._embedder_resolvers: list[EmbedderResolver] = []

    def add_detector(self, name: str, factory: DetectorFactory) -> None:
        self._detectors[name] = factory

    def add_embedder(self, name: str, factory: EmbedderFactory) -> None:
        self._embedders[name] = factory

    def add_embedder_resolver(self, resolver: EmbedderResolver) -> None:
        """Asked, in order, for an embedder name no factory is registered under."""
        self._embedder_resolvers.append(resolver)

    def add_plugin(self, slug: str, factory: PluginFactory) -> None:
        """`slug` is the `face_plugins` slug, lower case; 'calculator' and 'landmarks' are the pipeline's."""
        if slug in RESERVED_SLUGS or slug != slug.lower() or not slug:
            raise ValueError(f"{slug!r} cannot be a plugin slug")
        self._plugins[slug] = factory

    def detector_names(self) -> list[str]:
        return sorted(self._detectors)

    def embedder_names(self) -> list[str]:
        return sorted(self._embedders)

    def plugin_slugs(self) -> list[str]:
        return sorted(self._plugins)

    def build_detector(self, name: str, settings: Settings) -> Detector:
        return _build("detector", self._detectors, name, settings)

    def build_embedder(self, name: str, settings: Settings) -> Embedder:
        if name not in self._embedders:
            for resolve in self._embedder_resolvers:
                found = resolve(self, name, settings)
                if found is not None:
                    return found
        return _build("embedder", self._embedders, name, settings)

    def build_plugins(self, slugs: Iterable[str], settings: Settings) -> list[FacePlugin]:
        """The named plugins, in the order given; an unknown slug is a start-up error, not a silent no-op."""
        return [_build("plugin", self._plugins, slug, settings) for slug in slugs]


RegistryHook = Callable[[ModelRegistry], None]


def default_registry(extra_hooks: Iterable[RegistryHook] = ()) -> ModelRegistry:
    """Built-in models, then every installed `facekeeper.models` entry point, then `extra_hooks`."""
    registry = ModelRegistry()
    for hook in [*builtin_hooks(), *entry_point_hooks(), *extra_hooks]:
        hook(registry)
    return registry


def build_pipeline(
    settings: Settings, registry: ModelRegistry | None = None, pool: InferencePool | None = None
) -> FacePipeline:
    """The pipeline `settings` select (detector, embedder, plugins), built but not loaded; with `pool`, a
    request's plugins may run in an idle worker while its embedder runs."""
    models = registry if registry is not None else default_registry()
    return FacePipeline(
        models.build_detector(settings.detector, settings),
        models.build_embedder(settings.embedder, settings),
        models.build_plugins(settings.plugin_slugs, settings),
        max_detect_size=settings.max_detect_size,
        max_image_pixels=settings.max_image_pixels,
        max_jpeg_scans=settings.max_jpeg_scans,
        default_threshold=settings.det_prob_threshold,
        beside=pool.beside if pool is not None else None,
        embedder_name=settings.embedder,
        embedders=lambda name: models.build_embedder(name, settings),
    )


def builtin_hooks() -> list[RegistryHook]:
    return [importlib.import_module(module).register for module in BUILTIN_MODULES]


def entry_point_hooks() -> list[RegistryHook]:
    return [entry.load() for entry in entry_points(group=ENTRY_POINT_GROUP)]


def _build(kind: str, factories: Mapping[str, Callable[[Settings], Model]], name: str, settings: Settings) -> Model:
    factory = factories.get(name)
    if factory is None:
        reason = f"unknown {kind}; known: {', '.join(sorted(factories)) or 'none'}"
        raise FacekeeperError(Error.MODEL_UNAVAILABLE, name=name, reason=reason)
    return factory(settings)
