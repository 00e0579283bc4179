"""`facekeeper migrate`, in-process with the fake models: progress, result, resume after Ctrl-C, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facekeeper.cli.main import main
from facekeeper.inference.registry import ModelRegistry, default_registry
from facekeeper.services.migration import EmbedderMigration
from tests.support import squares
from tests.support.squares import GREEN, RED, ColourEmbedder, one_face


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


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A service 'people' with three examples, imported from a folder."""
    data = tmp_path / "data"
    photos = tmp_path / "photos"
    for relative, image in {
        "Red/1.png": one_face(RED),
        "Red/2.png": one_face(RED, 60),
        "Green/1.png": one_face(GREEN),
    }.items():
        (photos / relative).parent.mkdir(parents=True, exist_ok=True)
        (photos / relative).write_bytes(image)
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
