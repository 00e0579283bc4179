"""Bulk commands with the real models and real photos, while a server runs on the same data directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.server import FACES, GROUPS, NONFACE, ServerProcess, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.models]

PEOPLE = {"Barack Obama": "obama", "Joe Biden": "biden", "Angelina Jolie": "angelina_jolie"}


def photo_folder(root: Path) -> Path:
    for subject, stem in PEOPLE.items():
        for n in (1, 2):
            (root / subject).mkdir(parents=True, exist_ok=True)
            shutil.copy(FACES / f"{stem}_{n}.jpg", root / subject / f"{stem}_{n}.jpg")
    (root / "Crowd").mkdir()
    shutil.copy(GROUPS / "two_faces.jpg", root / "Crowd" / "two_faces.jpg")
    shutil.copy(NONFACE / "no_face.jpg", root / "Crowd" / "no_face.jpg")
    return root


def recognize(server: ServerProcess, key: str, photo: Path) -> list[dict[str, Any]]:
    with photo.open("rb") as image:
        response = requests.post(
            f"{server.url}/api/v1/recognition/recognize",
            files={"file": (photo.name, image, "image/jpeg")},
            headers={"x-api-key": key},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    return response.json()["result"][0]["subjects"]


def test_import_export_and_import_archive_beside_a_running_server(server: ServerProcess, tmp_path: Path) -> None:
    key = server.create_key("recognition", "bulk")
    folder = photo_folder(tmp_path / "photos")
    imported = server.cli("import", str(folder), "--service", "bulk", "--json")
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert (report["imported"], report["already_imported"]) == (6, 0)
    assert {(s["path"], s["reason"]) for s in report["skipped"]} == {
        ("Crowd/two_faces.jpg", "several_faces"),
        ("Crowd/no_face.jpg", "no_face"),
    }
    # The running server sees the import on its next request.
    best = recognize(server, key, FACES / "obama_2.jpg")[0]
    assert best["subject"] == "Barack Obama" and float(best["similarity"]) > 0.5

    again = json.loads(server.cli("import", str(folder), "--service", "bulk", "--json").stdout)
    assert (again["imported"], again["already_imported"]) == (0, 6)

    archive = tmp_path / "bulk.tar"
    exported = server.cli("export", str(archive), "--service", "bulk", "--json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["examples"] == 6

    elsewhere = tmp_path / "elsewhere"
    created = run_cli("service", "create", "--type", "recognition", "--name", "moved", "--data-dir", str(elsewhere))
    assert created.returncode == 0, created.stderr
    moved = run_cli("import-archive", str(archive), "--service", "moved", "--json", "--data-dir", str(elsewhere))
    assert moved.returncode == 0, moved.stderr
    moved_report = json.loads(moved.stdout)
    assert (moved_report["mode"], moved_report["imported"]) == ("copy", 6)
