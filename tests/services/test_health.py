"""Readiness: a deadline on the database check, and models loaded in the background by the first probe."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pool import InferencePool
from facekeeper.services.health import HealthService, Readiness
from facekeeper.storage.db import Database
from tests.e2e.server import free_port


class Reachable:
    def ping(self) -> str | None:
        return None


class Hanging:
    def __init__(self) -> None:
        self.release = threading.Event()

    def ping(self) -> str | None:
        self.release.wait(10)
        return None


class SlowModels:
    """Loads when told to, or fails with the catalogue's model error while `broken`."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.broken = False
        self.loads = 0

    def load(self) -> None:
        self.loads += 1
        self.go.wait(10)
        if self.broken:
            raise FacekeeperError(Error.MODEL_UNAVAILABLE, name="sface", reason="file missing")


@pytest.fixture
def pool() -> Iterator[InferencePool]:
    pool = InferencePool(1)
    yield pool
    pool.shutdown(wait=False)


def readiness(service: HealthService) -> Readiness:
    return asyncio.run(service.readiness())


def wait_for_models(service: HealthService, expected: str) -> Readiness:
    deadline = time.monotonic() + 5
    while True:
        state = readiness(service)
        if state.models == expected or time.monotonic() > deadline:
            return state
        time.sleep(0.01)


def test_first_probe_starts_loading_and_never_waits(pool: InferencePool) -> None:
    models = SlowModels()
    service = HealthService(Reachable(), models, pool)
    started = time.perf_counter()
    state = readiness(service)
    assert time.perf_counter() - started < 1.0
    assert state == Readiness("ok", "loading") and not state.ready
    assert readiness(service).models == "loading" and models.loads == 1  # one load, however many probes
    models.go.set()
    assert wait_for_models(service, "ok").ready


def test_preloaded_models_are_ready_at_once(pool: InferencePool) -> None:
    models = SlowModels()
    assert readiness(HealthService(Reachable(), models, pool, models_loaded=True)).ready
    assert models.loads == 0


def test_a_failed_load_says_why_and_is_retried(pool: InferencePool) -> None:
    models = SlowModels()
    models.broken = True
    models.go.set()
    service = HealthService(Reachable(), models, pool)
    readiness(service)
    state = wait_for_models(service, "Model sface cannot be loaded: file missing")
    assert state.models == "Model sface cannot be loaded: file missing" and not state.ready
    models.broken = False
    assert wait_for_models(service, "ok").ready and models.loads >= 2


def test_database_that_does_not_answer_fails_at_the_deadline(pool: InferencePool) -> None:
    db = Hanging()
    service = HealthService(db, SlowModels(), pool, models_loaded=True, database_timeout_s=0.2)
    # A loop of our own: asyncio.run would wait for the still-blocked ping thread when it closes.
    loop = asyncio.new_event_loop()
    try:
        started = time.perf_counter()
        state = loop.run_until_complete(service.readiness())
        elapsed_s = time.perf_counter() - started
    finally:
        db.release.set()
        loop.close()
    assert elapsed_s < 5.0  # the ping blocks for 10 s
    assert state.database == "no answer within 0.2 s" and not state.ready


def test_unreachable_database_names_the_driver_error(pool: InferencePool) -> None:
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        state = readiness(HealthService(db, SlowModels(), pool, models_loaded=True))
    finally:
        db.dispose()
    assert state.database.startswith("OperationalError: ") and not state.ready


def test_database_without_schema_is_not_ready(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert "alembic_version" in (db.ping() or "")
        db.upgrade()
        assert db.ping() is None
    finally:
        db.dispose()
