"""A failing database is the server's fault (issue 9, finding 7): 503 from the catalogue with
`Retry-After`, a message saying what is wrong, logged once, never a traceback in the body."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin
from sqlalchemy import event

from facekeeper.app import create_app
from tests.conftest import Api
from tests.support import squares
from tests.support.databases import make_read_only
from tests.support.squares import GREEN, RED, one_face

ADD = "/api/v1/recognition/faces"


def _big_face() -> bytes:
    """A face image of ~1 MB (a text chunk pads it): storing it needs new database pages."""
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("padding", "x" * 1_000_000)
    Image.open(io.BytesIO(one_face(GREEN))).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def _enrol(api: Api) -> Any:
    return api.client.post(
        ADD, params={"subject": "Ann"}, files={"file": ("p.png", _big_face())}, headers=api.headers()
    )


def _assert_storage_503(response: Any, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "message": f"The database cannot be used right now ({reason}); try again later",
        "code": 0,
    }
    assert response.headers["retry-after"] == "5"
    assert "Traceback" not in response.text


def _failures_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    with TestClient(create_app(squares.test_settings(data_dir=tmp_path), squares.registry())) as client:
        yield Api(client)


def test_full_disk_is_a_503_logged_once(sqlite_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    api = sqlite_api
    api.enrol("Tom", one_face(RED))
    engine = api.services.db.engine

    @event.listens_for(engine, "connect")
    def no_room(dbapi_connection: Any, _record: Any) -> None:
        # SQLite's own "disk full": the file may not grow past the pages it has.
        dbapi_connection.execute("PRAGMA max_page_count = 1")

    engine.dispose()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = _enrol(api)
    _assert_storage_503(response, "the disk is full")
    failures = _failures_logged(caplog)
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert "database failure" in failures[0].getMessage() and failures[0].exc_info is None


@pytest.fixture
def read_only_api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    """A database that turns read-only under a running server: every new connection is told so (SQLite's
    `query_only`; PostgreSQL's read-only transactions), as a remounted disk or a revoked grant would."""
    settings = squares.test_settings(data_dir=tmp_path, database_url=database_url)
    with TestClient(create_app(settings, squares.registry())) as client:
        api = Api(client)
        api.enrol("Tom", one_face(RED))
        make_read_only(api.services.db.engine)
        yield api


def test_read_only_database_is_a_503_and_reads_still_work(read_only_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    api = read_only_api
    assert api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json() == {"subjects": ["Tom"]}
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _assert_storage_503(_enrol(api), "the database is read-only")
        _assert_storage_503(
            api.client.delete("/api/v1/recognition/subjects/Tom", headers=api.headers()), "the database is read-only"
        )
    assert len(_failures_logged(caplog)) == 2  # once per failure, no second traceback from another layer
    assert api.client.get("/api/v1/recognition/subjects", headers=api.headers()).json() == {"subjects": ["Tom"]}
