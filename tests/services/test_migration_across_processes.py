"""D5 across processes: two independent service bundles on one database (as two `serve --workers`
processes, the CLI beside a server, or two hosts) see one run per collection. While one's run is held
mid-way, the other reports it `running` with its progress and refuses a second run; once it ends, the other
can run. A real second process, killed mid-run, is in tests/cli/test_migrate.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from facekeeper.app import build_services
from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.registry import ModelRegistry, default_registry
from facekeeper.services.bundle import Services
from facekeeper.services.migration import MigrationProgress, MigrationState
from facekeeper.storage.migration_locks import lock_key
from tests.support import squares
from tests.support.squares import GREEN, RED, ColourEmbedder, one_face


class Gate:
    """Lets the first `free_calls` embeddings through, then holds every other one until opened."""

    def __init__(self, free_calls: int) -> None:
        self.free_calls = free_calls
        self.calls = 0
        self.waiting = threading.Event()
        self.open = threading.Event()


class GatedColourEmbedder(ColourEmbedder):
    version = "colours.Calculator@gated"

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        self.gate.calls += 1
        if self.gate.calls > self.gate.free_calls:
            self.gate.waiting.set()
            assert self.gate.open.wait(30), "the test never opened the gate"
        return super().embed(faces_rgb)[:, ::-1].copy()


def _registry(gate: Gate) -> ModelRegistry:
    def add_gated(registry: ModelRegistry) -> None:
        registry.add_embedder("gated", lambda _settings: GatedColourEmbedder(gate))

    return default_registry(extra_hooks=[squares.add_to, add_gated])


@pytest.fixture
def gate() -> Gate:
    return Gate(free_calls=1)


@pytest.fixture
def pair(tmp_path: Path, database_url: str, gate: Gate) -> Iterator[tuple[Services, Services]]:
    """Two bundles that share nothing but the database (and, on SQLite, its directory)."""
    bundles = []
    for name in ("one", "two"):
        settings = squares.test_settings(data_dir=tmp_path / name, database_url=database_url)
        bundles.append(build_services(settings, _registry(gate)))
        bundles[-1].db.upgrade()
    one, two = bundles
    one.migration.batch_size = two.migration.batch_size = 1  # a batch committed before the gate holds one
    yield one, two
    gate.open.set()  # let a held run finish before its database goes away
    for thread in threading.enumerate():
        if thread.name.startswith("migrate-"):
            thread.join(30)
    for bundle in bundles:
        bundle.close()


def _service_with_three_examples(services: Services) -> ServiceRecord:
    service = services.api_keys.create("people", ServiceType.RECOGNITION)
    for subject, colour in (("Red", RED), ("Green", GREEN), ("Red", RED)):
        services.examples.add(service, subject, one_face(colour), None)
    return services.api_keys.recognition_service("people")


def _settled(services: Services, service: ServiceRecord) -> MigrationProgress:
    """The progress `services` reports once no run is going on any more (30 s at most)."""
    progress = services.migration.progress(service)
    for _ in range(600):
        if progress.state is not MigrationState.RUNNING:
            break
        threading.Event().wait(0.05)
        progress = services.migration.progress(service)
    return progress


def test_a_run_elsewhere_is_running_and_refuses_a_second(pair: tuple[Services, Services], gate: Gate) -> None:
    one, two = pair
    service = _service_with_three_examples(one)
    started = one.migration.start(service, "gated")
    assert (started.state, started.embedder) == (MigrationState.RUNNING, "gated")
    assert gate.waiting.wait(30), "the run never reached its second example"

    seen = two.migration.progress(service)  # not `interrupted`: the run goes on in the other bundle
    assert (seen.state, seen.embedder, seen.done, seen.total, seen.error) == (
        MigrationState.RUNNING,
        "gated",
        1,
        3,
        None,
    )
    for attempt in (two.migration.start, two.migration.run):
        with pytest.raises(FacekeeperError) as refused:
            attempt(service, "gated")
        assert refused.value.error is Error.MIGRATION_RUNNING
        assert refused.value.message == "A migration of service people is already running"
    with pytest.raises(FacekeeperError) as elsewhere:  # towards another embedder neither: it would drop the run's work
        two.migration.run(service, "colours")
    assert elsewhere.value.error is Error.MIGRATION_RUNNING
    assert two.migration.progress(service).state is MigrationState.RUNNING  # the refusals left no trace

    gate.open.set()
    finished = _settled(two, service)
    assert (finished.state, finished.embedder, finished.done, finished.total) == (MigrationState.IDLE, "gated", 3, 3)
    assert one.migration.progress(service).state is MigrationState.DONE

    back = two.migration.run(service, "colours")  # the lock was released with the run
    assert (back.state, back.embedder) == (MigrationState.DONE, "colours")


def test_a_run_starting_elsewhere_is_running_before_its_first_batch(
    pair: tuple[Services, Services], gate: Gate
) -> None:
    one, two = pair
    service = _service_with_three_examples(one)
    gate.free_calls = gate.calls  # the very first embedding waits: nothing is committed yet
    one.migration.start(service, "gated")
    assert gate.waiting.wait(30)
    seen = two.migration.progress(service)
    assert (seen.state, seen.embedder, seen.done, seen.total) == (MigrationState.RUNNING, "gated", 0, 3)
    with pytest.raises(FacekeeperError) as refused:
        two.migration.start(service, "gated")
    assert refused.value.error is Error.MIGRATION_RUNNING


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_run_that_loses_its_lock_stops_before_the_switch(pair: tuple[Services, Services], gate: Gate) -> None:
    """PostgreSQL's lock lives in the run's own connection: when that connection dies (a network cut, a
    restarted pooler, here pg_terminate_backend), another process is free to start, so the first run must
    stop at its next batch and never switch the collection."""
    one, two = pair
    service = _service_with_three_examples(one)
    one.migration.start(service, "gated")
    assert gate.waiting.wait(30), "the run never reached its second example"
    key = lock_key(service.id) & 0xFFFFFFFFFFFFFFFF
    with one.db.engine.connect() as connection:
        terminated = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND classid = CAST(:high AS bigint)::oid AND objid = CAST(:low AS bigint)::oid"
            ),
            {"high": key >> 32, "low": key & 0xFFFFFFFF},
        ).all()
    assert terminated == [(True,)]
    gate.open.set()
    ended = _settled(one, service)
    assert ended.state is MigrationState.FAILED
    assert ended.error is not None and "the migration lost its lock" in ended.error
    assert two.api_keys.recognition_service("people").embedder == "colours"  # never switched
    assert two.migration.run(service, "gated").state is MigrationState.DONE  # the collection is free again
