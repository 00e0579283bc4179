"""A real app (YuNet + SFace from the installed packages) shared by the golden tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.settings import Settings
from tests.conftest import Api


@pytest.fixture(scope="module")
def real_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("golden"), inference_workers=2)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def photo(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "image/jpeg")
