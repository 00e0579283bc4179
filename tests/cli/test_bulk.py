"""`facekeeper import | export | import-archive`, in-process with the fake models: options, reports, exit codes."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from facekeeper.cli.main import main
from tests.support import squares
from tests.support.squares import GREEN, RED, image, one_face


@pytest.fixture(autouse=True)
def fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEKEEPER_DETECTOR", "squares")
    monkeypatch.setenv("FACEKEEPER_EMBEDDER", "colours")
    monkeypatch.setenv("FACEKEEPER_PLUGINS", "")


def run(*argv: str) -> int:
    return main(list(argv), registry=squares.registry())


def new_service(data_dir: Path, name: str = "people", kind: str = "recognition") -> None:
    assert run("service", "create", "--type", kind, "--name", name, "--data-dir", str(data_dir)) == 0


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for relative, data in {
        "Red/1.png": one_face(RED),
        "Red/2.png": one_face(RED, side=60),
        "Green/1.png": one_face(GREEN),
        "Green/pair.png": image([(10, 10, 60, GREEN), (150, 100, 60, RED)]),
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


def test_import_prints_a_json_report_and_progress_lines(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    new_service(data)
    capsys.readouterr()
    assert run("import", str(photos), "--service", "people", "--json", "--workers", "2", "--data-dir", str(data)) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert (report["total"], report["imported"], report["already_imported"]) == (4, 3, 0)
    assert report["skipped"] == [
        {"path": "Green/pair.png", "reason": "several_faces", "message": "More than one face in the source image"}
    ]
    assert report["skipped_by_reason"] == {"several_faces": 1} and report["per_second"] > 0
    assert "import: 4/4 (100%)" in err and "\r" not in err  # not a terminal: plain lines
    assert run("import", str(photos), "--service", "people", "--data-dir", str(data)) == 0
    text = capsys.readouterr().out
    assert "Imported 0 of 4 into 'people'" in text and "3 already imported, 1 skipped" in text
    assert "skipped Green/pair.png: several_faces" in text


def test_service_must_exist_and_hold_a_collection(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    new_service(data, "finder", "detection")
    assert run("import", str(photos), "--service", "nobody", "--data-dir", str(data)) == 1
    assert "Service nobody not found" in capsys.readouterr().err
    assert run("export", str(tmp_path / "x.tar"), "--service", "finder", "--data-dir", str(data)) == 2
    assert "Service finder is a detection service" in capsys.readouterr().err
    assert run("import", str(tmp_path / "nowhere"), "--service", "finder", "--data-dir", str(data)) == 2


def test_export_then_import_archive_between_data_dirs(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    new_service(first)
    new_service(second, "moved")
    run("import", str(photos), "--service", "people", "--data-dir", str(first))
    archive = tmp_path / "people.tar.gz"
    capsys.readouterr()
    assert run("export", str(archive), "--service", "people", "--json", "--data-dir", str(first)) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported | {"elapsed_s": 0} == {
        "service": "people",
        "calculator": "colours.Calculator@test",
        "subjects": 2,
        "examples": 3,
        "images": 3,
        "elapsed_s": 0,
        "path": str(archive),
        "bytes": archive.stat().st_size,
    }
    assert list(tmp_path.glob("*.partial")) == []
    with tarfile.open(archive, "r:gz") as tar:
        assert tar.getnames()[0] == "manifest.json"
    assert run("export", str(archive), "--service", "people", "--data-dir", str(first)) == 3  # never overwrites
    assert "already exists" in capsys.readouterr().err
    assert run("import-archive", str(archive), "--service", "moved", "--json", "--data-dir", str(second)) == 0
    imported = json.loads(capsys.readouterr().out)
    assert (imported["mode"], imported["imported"], imported["total"]) == ("copy", 3, 3)


def test_archives_stream_through_stdout_and_stdin(
    tmp_path: Path,
    photos: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    new_service(first)
    new_service(second)
    run("import", str(photos), "--service", "people", "--data-dir", str(first))
    capsysbinary.readouterr()
    assert run("export", "-", "--service", "people", "--no-images", "--data-dir", str(first)) == 0
    archive, err = capsysbinary.readouterr()
    assert b"Exported 'people' to -" in err  # the report goes to stderr, the archive to stdout
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(archive)))
    assert run("import-archive", "-", "--service", "people", "--data-dir", str(second)) == 0
    assert b"Imported 3 of 3 into 'people' (copy)" in capsysbinary.readouterr().out


def test_a_running_server_lists_the_subjects_the_cli_writes_at_once(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server keeps its list of subjects per revision: the CLI's writes (examples, and subjects without
    any from an archive) move the revision, so the next request lists them."""
    from fastapi.testclient import TestClient

    from facekeeper.app import create_app

    data, source = tmp_path / "data", tmp_path / "source"

    def new_key(data_dir: Path, name: str) -> dict[str, str]:
        capsys.readouterr()
        argv = ["service", "create", "--type", "recognition", "--name", name, "--json"]
        assert run(*argv, "--data-dir", str(data_dir)) == 0
        return {"x-api-key": json.loads(capsys.readouterr().out)["api_key"]}

    headers = new_key(data, "people")
    subjects = "/api/v1/recognition/subjects"
    with TestClient(create_app(squares.test_settings(data_dir=source), squares.registry())) as other:
        assert other.post(subjects, json={"subject": "Nobody"}, headers=new_key(source, "x")).status_code == 201
    archive = tmp_path / "x.tar.gz"
    assert run("export", str(archive), "--service", "x", "--data-dir", str(source)) == 0
    with TestClient(create_app(squares.test_settings(data_dir=data), squares.registry())) as server:
        assert server.get(subjects, headers=headers).json() == {"subjects": []}
        assert run("import", str(photos), "--service", "people", "--data-dir", str(data)) == 0
        assert sorted(server.get(subjects, headers=headers).json()["subjects"]) == ["Green", "Red"]
        assert run("import-archive", str(archive), "--service", "people", "--data-dir", str(data)) == 0
        listed = server.get(subjects, headers=headers).json()["subjects"]
        assert sorted(listed) == ["Green", "Nobody", "Red"] and listed[-1] == "Nobody"
