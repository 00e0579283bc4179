"""End-to-end fixtures: one real server per test module (see `server.py`), keys made with the real CLI."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from tests.e2e.server import ServerFactory, ServerProcess


def _let_compreface_sdk_import() -> None:
    """compreface-sdk 0.6.0 pins requests-toolbelt 0.9.1, which imports `urllib3.contrib.appengine`,
    gone in urllib3 2. Only toolbelt's App Engine adapter uses it (the SDK never does), so an empty
    stand-in module lets the unchanged SDK import. Does nothing where the real module exists."""
    try:
        import urllib3.contrib.appengine  # noqa: F401
    except ImportError:
        sys.modules["urllib3.contrib.appengine"] = types.ModuleType("urllib3.contrib.appengine")


_let_compreface_sdk_import()


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path_factory.mktemp("e2e"))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> ServerProcess:
    """One server shared by a test module."""
    return server_factory.start()


@pytest.fixture(scope="module")
def recognition_key(server: ServerProcess) -> str:
    return server.create_key("recognition", "e2e-recognition")


@pytest.fixture(scope="module")
def detection_key(server: ServerProcess) -> str:
    return server.create_key("detection", "e2e-detection")


@pytest.fixture(scope="module")
def verification_key(server: ServerProcess) -> str:
    return server.create_key("verification", "e2e-verification")
