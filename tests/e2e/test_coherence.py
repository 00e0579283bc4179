"""Two server processes (one of them `--workers 2`) and the CLI on one database, on each backend: an example
added or deleted through any of them is searchable, or gone, through the others within a second, and no
process reloads a collection it already holds (full loads counted by `/metrics`)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import psutil
import pytest
import requests

from tests.api.test_metrics import value
from tests.e2e.server import ServerFactory, ServerProcess, face, multipart_image, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.models]

VISIBLE_WITHIN_S = 1.0
TIMEOUT = 30


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Environment that puts every process on one database."""
    if request.param == "sqlite":
        return {}
    return {"FACEKEEPER_DATABASE_URL": str(request.getfixturevalue("postgres_url"))}


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[ServerFactory]:
    servers = ServerFactory(tmp_path)
    try:
        yield servers
    finally:
        servers.stop_all()


def cli(data_dir: Path, database: dict[str, str], *args: str) -> str:
    url = ["--database-url", database["FACEKEEPER_DATABASE_URL"]] if database else []
    result = run_cli(*args, "--data-dir", str(data_dir), *url, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


SENT: dict[int, int] = {}  # recognize requests sent, by server port


def top_subject(server: ServerProcess, key: str, image: str) -> str | None:
    """A new connection per request, so every worker of a multi-worker server gets its turn."""
    SENT[server.port] = SENT.get(server.port, 0) + 1
    response = requests.post(
        f"{server.url}/api/v1/recognition/recognize",
        files=multipart_image(face(image)),
        headers={"x-api-key": key, "Connection": "close"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    subjects = response.json()["result"][0]["subjects"]
    return subjects[0]["subject"] if subjects and subjects[0]["similarity"] > 0.5 else None


def seconds_until(condition: Callable[[], bool], limit_s: float = 10.0) -> float:
    """How long until `condition` held (it is checked until `limit_s`, so a miss reports its time)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit_s:
            break
        time.sleep(0.02)
    return time.monotonic() - started


def full_loads(server: ServerProcess) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=TIMEOUT).text
    return value(text, "facekeeper_index_loads_total", kind="full")


def test_changes_through_one_process_are_seen_by_the_others(
    factory: ServerFactory, shared_database: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    created = cli(data_dir, shared_database, "service", "create", "--type", "recognition", "--name", "shared", "--json")
    key = json.loads(created)["api_key"]
    workers = factory.start(data_dir=data_dir, FACEKEEPER_WORKERS="2", **shared_database)
    single = factory.start(data_dir=data_dir, **shared_database)
    assert workers.process is not None
    assert len(psutil.Process(workers.process.pid).children()) >= 2
    for _ in range(6):  # every worker loads the (empty) collection on first use
        assert top_subject(workers, key, "biden_2.jpg") is None
        assert top_subject(single, key, "biden_2.jpg") is None

    added = requests.post(
        f"{workers.url}/api/v1/recognition/faces",
        params={"subject": "Joe Biden"},
        files=multipart_image(face("biden_1.jpg")),
        headers={"x-api-key": key},
        timeout=TIMEOUT,
    )
    assert added.status_code == 201, added.text
    assert seconds_until(lambda: top_subject(single, key, "biden_2.jpg") == "Joe Biden") <= VISIBLE_WITHIN_S
    for _ in range(4):
        assert top_subject(workers, key, "biden_2.jpg") == "Joe Biden"

    deleted = requests.delete(
        f"{single.url}/api/v1/recognition/faces/{added.json()['image_id']}", headers={"x-api-key": key}, timeout=30
    )
    assert deleted.status_code == 200
    assert seconds_until(lambda: top_subject(workers, key, "biden_2.jpg") is None) <= VISIBLE_WITHIN_S
    for _ in range(4):
        assert top_subject(workers, key, "biden_2.jpg") is None

    photos = tmp_path / "photos" / "Barack Obama"
    photos.mkdir(parents=True)
    shutil.copy(face("obama_1.jpg"), photos / "1.jpg")
    cli(data_dir, shared_database, "import", str(photos.parent), "--service", "shared", "--workers", "1")
    for server in (single, workers):
        found = partial(lambda s: top_subject(s, key, "obama_2.jpg") == "Barack Obama", server)
        assert seconds_until(found) <= VISIBLE_WITHIN_S

    assert full_loads(single) == 1  # its first use only: every change after it was replayed
    assert full_loads(workers) <= 2  # one first use per worker process
    # /metrics adds up every worker's counters, whichever worker answers the scrape
    recognized = requests.get(f"{workers.url}/metrics", timeout=TIMEOUT).text
    route = "/api/v1/recognition/recognize"
    assert value(recognized, "facekeeper_http_requests_total", route=route, status="200") == SENT[workers.port]
