"""End-to-end fixtures: one real server per test module (see `server.py`), keys made with the real CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import ServerFactory, ServerProcess


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
