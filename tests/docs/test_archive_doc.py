"""docs/archive.md matches what `export` writes, and its Python example runs on a real export."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from dataclasses import fields
from pathlib import Path

from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.services.archive_format import Manifest
from facekeeper.services.export import ExportService
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import GREEN, RED, one_face

DOC = (Path(__file__).resolve().parents[2] / "docs" / "archive.md").read_text()


def export_people(tmp_path: Path) -> Path:
    settings = squares.test_settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings, squares.registry())) as client:
        api = Api(client)
        api.enrol("Ada", one_face(RED))
        api.enrol("Alan", one_face(GREEN))
        service = api.services.api_keys.recognition_service("rec")
        path = tmp_path / "people.tar"
        with path.open("wb") as out:
            ExportService(api.services.db).export(service, out)
    return path


def test_the_documented_manifest_and_records_are_what_export_writes(tmp_path: Path) -> None:
    with tarfile.open(export_people(tmp_path)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        record = json.loads(tar.extractfile("examples/000000.jsonl").read().splitlines()[0])  # type: ignore[union-attr]
    documented = json.loads(DOC.split("```json", 1)[1].split("```", 1)[0])
    assert set(documented) == set(manifest) == {field.name for field in fields(Manifest)}
    table = DOC.split("## examples/NNNNNN.jsonl", 1)[1].split("##", 1)[0]
    assert set(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)) == set(record)


def test_the_python_example_reads_an_export(tmp_path: Path) -> None:
    export_people(tmp_path)
    example = DOC.split("```python", 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["Ada", "Alan"] and all(line.endswith("(4,)") for line in lines)
