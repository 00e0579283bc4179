"""The one base of every ONNX-backed model: a session built once, on first use, or injected by a test."""

from __future__ import annotations

from collections.abc import Callable

from facekeeper.inference.session import LazySession, ModelSession


class OnnxModel:
    """Holds one lazily built session; `load()` builds it now (idempotent, locked in `LazySession`).

    Models pass a factory for the real session and accept `session=` so tests hand in a stub with canned
    outputs instead of patching module attributes. The factory's `OnnxSession` picks the runtime
    (`FACEKEEPER_RUNTIME`, passed as `RuntimeOptions`), and `runtime` says which one it picked.
    """

    def __init__(self, factory: Callable[[], ModelSession], session: ModelSession | None = None) -> None:
        self._session = LazySession.ready(session) if session is not None else LazySession(factory)

    def load(self) -> None:
        self._session.get()

    @property
    def session(self) -> ModelSession:
        return self._session.get()

    @property
    def runtime(self) -> str | None:
        """Runtime, version and precision of the loaded session (e.g. "openvino 2026.4.1 f32"); None before
        loading, and for a stub session that does not say."""
        runtime = getattr(self._session.built(), "runtime", None)
        return runtime if isinstance(runtime, str) else None
