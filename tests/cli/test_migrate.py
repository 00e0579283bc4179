"""`facekeeper migrate`, in-process with the fake models: progress, result, resume after Ctrl-C, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from facekeeper.cli.main import main
from facekeeper.inference.registry import ModelRegistry, default_registry
from facekeeper.services.migration import EmbedderMigration
from tests.support import squares
from tests.support.squares import GREEN, RED, ColourEmbedder, one_face

ROOT = Path(__file__).resolve().parents[2]


class SwappedColourEmbedder(ColourEmbedder):
    version = "colours.Calculator@v2"

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        return super().embed(faces_rgb)[:, ::-1].copy()


def registry() -> ModelRegistry:
    def add_v2(registry: ModelRegistry) -> None:
        registry.add_embedder("colours-v2", lambda _settings: SwappedColourEmbedder())

    return default_registry(extra_hooks=[squares.add_to, add_v2])


@pytest.fixture(autouse=True)
def fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEKEEPER_DETECTOR", "squares")
    monkeypatch.setenv("FACEKEEPER_EMBEDDER", "colours")
    monkeypatch.setenv("FACEKEEPER_PLUGINS", "")


def run(*argv: str) -> int:
    return main(list(argv), registry=registry())


def write_photos(photos: Path) -> None:
    """Three examples of two subjects, as a folder import takes them."""
    for relative, image in {
        "Red/1.png": one_face(RED),
        "Red/2.png": one_face(RED, 60),
        "Green/1.png": one_face(GREEN),
    }.items():
        (photos / relative).parent.mkdir(parents=True, exist_ok=True)
        (photos / relative).write_bytes(image)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A service 'people' with three examples, imported from a folder."""
    data = tmp_path / "data"
    photos = tmp_path / "photos"
    write_photos(photos)
    assert run("service", "create", "--type", "recognition", "--name", "people", "--data-dir", str(data)) == 0
    assert run("import", str(photos), "--service", "people", "--data-dir", str(data)) == 0
    return data


def test_migrate_prints_progress_and_the_switch(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("migrate", "--service", "people", "--status", "--json", "--data-dir", str(data)) == 0
    status = json.loads(capsys.readouterr().out)
    assert status == {"service": "people", "embedder": "colours", "state": "idle", "done": 3, "total": 3, "error": None}
    assert run("migrate", "--service", "people", "--embedder", "colours-v2", "--data-dir", str(data)) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "Service 'people' now uses embedder colours-v2: 3 examples."
    assert "migrate people to colours-v2: 3/3 (100%)" in err
    assert run("service", "list", "--json", "--data-dir", str(data)) == 0
    listed = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert listed["people"]["embedder"] == "colours-v2"  # the list shows what each collection is built with
    assert run("migrate", "--service", "people", "--status", "--data-dir", str(data)) == 0
    assert "uses embedder colours-v2 (3 examples)" in capsys.readouterr().out


def test_migrate_resumes_after_ctrl_c(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("facekeeper.services.migration.BATCH_SIZE", 1)
    original = EmbedderMigration._embedded
    calls = {"n": 0}

    def interrupted_after_one_batch(self: EmbedderMigration, batch: list, embedder: str):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, batch, embedder)

    monkeypatch.setattr(EmbedderMigration, "_embedded", interrupted_after_one_batch)
    capsys.readouterr()
    code = run("migrate", "--service", "people", "--embedder", "colours-v2", "--json", "--data-dir", str(data))
    assert code == 130
    stopped = json.loads(capsys.readouterr().out)
    assert (stopped["state"], stopped["embedder"], stopped["done"], stopped["total"]) == (
        "interrupted",
        "colours-v2",
        1,
        3,
    )
    monkeypatch.setattr(EmbedderMigration, "_embedded", original)
    assert run("migrate", "--service", "people", "--embedder", "colours-v2", "--json", "--data-dir", str(data)) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "done"


def test_migrate_refuses_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("FACEKEEPER_SAVE_IMAGES_TO_DB", "false")
    photos = tmp_path / "photos" / "Red"
    photos.mkdir(parents=True)
    (photos / "1.png").write_bytes(one_face(RED))
    assert run("service", "create", "--type", "recognition", "--name", "people", "--data-dir", str(data)) == 0
    assert run("service", "create", "--type", "detection", "--name", "det", "--data-dir", str(data)) == 0
    assert run("import", str(tmp_path / "photos"), "--service", "people", "--data-dir", str(data)) == 0
    capsys.readouterr()
    assert run("migrate", "--service", "people", "--embedder", "colours-v2", "--data-dir", str(data)) == 3
    err = capsys.readouterr().err
    assert "Service people has 1 of 1 examples without a stored image" in err and "Traceback" not in err
    assert run("migrate", "--service", "people", "--embedder", "nope", "--data-dir", str(data)) == 2
    assert "Unknown embedder nope; known: " in capsys.readouterr().err
    assert run("migrate", "--service", "det", "--embedder", "colours-v2", "--data-dir", str(data)) == 2
    assert run("migrate", "--service", "people", "--data-dir", str(data)) == 2
    assert "--embedder" in capsys.readouterr().err
    assert (
        run("service", "create", "--type", "recognition", "--name", "x", "--embedder", "nope", "--data-dir", str(data))
        == 5
    )


# A `facekeeper migrate` in a process of its own whose second embedding never ends: one batch committed, then
# stuck mid-run until the test kills it.
STUCK_CHILD = """
import sys, time
from pathlib import Path

import facekeeper.services.migration as migration
from facekeeper.cli.main import main
from facekeeper.inference.registry import default_registry
from tests.support import squares
from tests.support.squares import ColourEmbedder

migration.BATCH_SIZE = 1
marker = Path(sys.argv[1])


class Stuck(ColourEmbedder):
    version = "colours.Calculator@v2"
    calls = 0

    def embed(self, faces_rgb):
        Stuck.calls += 1
        if Stuck.calls > 1:
            marker.write_text("stuck")
            time.sleep(300)
        return super().embed(faces_rgb)[:, ::-1].copy()


def add_stuck(registry):
    registry.add_embedder("colours-v2", lambda _settings: Stuck())


sys.exit(main(sys.argv[2:], registry=default_registry(extra_hooks=[squares.add_to, add_stuck])))
"""


def test_a_run_in_another_process_is_running_until_that_process_dies(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Status says `running` and a second run is refused (exit 3, code 27's message) while another process
    runs; killing it (no cleanup of its own) releases the collection: `interrupted`, and the run resumes here."""
    where = ("--data-dir", str(tmp_path / "data"), "--database-url", database_url)
    photos = tmp_path / "photos"
    write_photos(photos)
    assert run("service", "create", "--type", "recognition", "--name", "people", *where) == 0
    assert run("import", str(photos), "--service", "people", *where) == 0
    marker = tmp_path / "stuck"
    argv = ["migrate", "--service", "people", "--embedder", "colours-v2", *where]
    child = subprocess.Popen([sys.executable, "-c", STUCK_CHILD, str(marker), *argv], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the other process never got mid-run"
            time.sleep(0.05)
        capsys.readouterr()
        assert run("migrate", "--service", "people", "--status", "--json", *where) == 0
        status = json.loads(capsys.readouterr().out)
        assert status == {
            "service": "people",
            "embedder": "colours-v2",
            "state": "running",
            "done": 1,
            "total": 3,
            "error": None,
        }
        assert run(*argv) == 3
        assert "A migration of service people is already running" in capsys.readouterr().err
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    deadline = time.monotonic() + 10
    while True:  # PostgreSQL ends the dead process's session once it notices the closed socket
        assert run("migrate", "--service", "people", "--status", "--json", *where) == 0
        status = json.loads(capsys.readouterr().out)
        if status["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (status["state"], status["done"], status["total"]) == ("interrupted", 1, 3)
    assert run(*argv, "--json") == 0
    assert json.loads(capsys.readouterr().out)["state"] == "done"
