"""No secret at any log level (issue 9, finding 8): the whole bad-input corpus, and the requests that once
leaked keys, run on SQLite and PostgreSQL with every logger at DEBUG; no line may hold an API key."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from tests.api.test_bad_inputs import CASES
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import RED, one_face

SUBJECTS = "/api/v1/recognition/subjects"
FACES = "/api/v1/recognition/faces"


CLIENT_LOGGERS = ("httpx", "httpcore")  # the test's own HTTP client logs the URLs it calls


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(r) for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_no_log_line_holds_an_api_key(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    # Before the engine exists (SQLAlchemy reads its level then); its own logger too, as an operator
    # tracing SQL would set it (SQLAlchemy sets it to WARNING when imported).
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    url = None if backend == "sqlite" else request.getfixturevalue("postgres_url")
    settings = squares.test_settings(data_dir=tmp_path, database_url=url, log_level="debug")
    with TestClient(create_app(settings, squares.registry())) as client:
        api = Api(client)
        image_id = api.enrol("Alice", one_face(RED))
        keys = [api.recognition_key, api.detection_key, api.verification_key]
        for case in CASES:
            assert case.send(api).status_code < 500, case.name
        key = api.recognition_key
        hostile = [
            client.get(f"/api/v1/static/{key}%00/images/{image_id}"),  # once: the key in a PostgreSQL traceback
            client.get(f"/api/v1/static/{key}/images/{image_id}"),
            client.get(f"{SUBJECTS}/al%00ice", headers=api.headers()),
            client.delete(f"{FACES}/{image_id}%0A", headers=api.headers()),
            client.post(f"{FACES}/delete", json=[str(uuid.UUID(int=i)) for i in range(70_000)], headers=api.headers()),
        ]
        assert all(response.status_code < 500 for response in hostile)
    lines = _lines(caplog)
    assert any("sqlalchemy" in line for line in lines), "SQL statements were logged at DEBUG: they are checked"
    leaks = [line[:300] for line in lines for secret in keys if secret in line]
    assert leaks == []
    # Outside opt-in SQL tracing, no line carries a statement: the 70,000-id one was logged whole, each time.
    assert max(len(line) for line in lines if not line.startswith("sqlalchemy")) < 2_000
