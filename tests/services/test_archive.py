"""Export and import-archive: collections move between servers and databases bit for bit, resumably, and
only between matching calculators (otherwise re-embedded from the images, or refused)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.domain import ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.registry import ModelRegistry, default_registry
from facekeeper.services.archive_import import ArchiveImport
from facekeeper.services.bulk import ImportReport
from facekeeper.services.export import ExportService
from facekeeper.storage.bulk import BulkRepository, NewExampleRow
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import GREEN, RED, ColourEmbedder, one_face

V2 = "colours.Calculator@v2"


class SwappedColourEmbedder(ColourEmbedder):
    """Another model: same faces, other numbers."""

    version = V2

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        return super().embed(faces_rgb)[:, ::-1].copy()


def registry() -> ModelRegistry:
    def add_v2(registry: ModelRegistry) -> None:
        registry.add_embedder("colours-v2", lambda _settings: SwappedColourEmbedder())

    return default_registry(extra_hooks=[squares.add_to, add_v2])


@contextmanager
def server(data_dir: Path, database_url: str | None = None, embedder: str = "colours") -> Iterator[Api]:
    settings = squares.test_settings(data_dir=data_dir, database_url=database_url, embedder=embedder)
    with TestClient(create_app(settings, registry())) as client:
        yield Api(client)


def rec(api: Api) -> ServiceRecord:
    return api.services.api_keys.recognition_service("rec")


def populate(api: Api) -> None:
    api.enrol("Red", one_face(RED))
    api.enrol("Red", one_face(RED, side=60))
    api.enrol("Green", one_face(GREEN))
    api.client.post("/api/v1/recognition/subjects", json={"subject": "Empty"}, headers=api.headers())


def export(api: Api, path: Path, *, with_images: bool = True, compress: bool = False) -> Path:
    with open(path, "wb") as out:
        ExportService(api.services.db).export(rec(api), out, with_images=with_images, compress=compress)
    return path


def import_archive(api: Api, path: Path | bytes) -> ImportReport:
    importer = ArchiveImport(
        api.services.examples, api.services.subjects, api.services.workers.inference_pool, 5_000_000
    )
    source = io.BytesIO(path) if isinstance(path, bytes) else open(path, "rb")  # noqa: SIM115
    with source:
        return importer.run(rec(api), source, "archive")


def dump(api: Api) -> tuple[list[str], list[tuple[str, str, bytes, str, bytes | None]]]:
    with api.services.db.transaction() as session:
        bulk = BulkRepository(session)
        subjects = sorted(bulk.subject_names(rec(api).id))
        rows = [(r.id, r.subject, r.embedding, r.calculator, r.image) for r in bulk.examples(rec(api).id, True)]
    return subjects, rows


def recognize(api: Api) -> list[dict[str, Any]]:
    response = api.client.post(
        "/api/v1/recognition/recognize",
        params={"prediction_count": 5},
        files={"file": ("q.png", one_face(RED, side=90))},
        headers=api.headers(),
    )
    return response.json()["result"][0]["subjects"]


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Api]:
    with server(tmp_path / "source") as api:
        populate(api)
        yield api


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_round_trip_copies_everything_without_re_embedding(
    backend: str, source: Api, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    archive = export(source, tmp_path / "rec.tar")
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    with server(tmp_path / "target", database_url=url) as target:
        report = import_archive(target, archive)
        assert (report.imported, report.already_imported, report.skipped) == (3, 0, [])
        assert report.details["mode"] == "copy"
        assert dump(target) == dump(source)  # ids, subjects (the empty one too), embeddings, images
        assert recognize(target) == recognize(source)
        image_id = dump(source)[1][0][0]
        downloaded = target.client.get(f"/api/v1/recognition/faces/{image_id}/img", headers=target.headers())
        assert downloaded.content == one_face(RED)


def test_re_running_an_import_resumes(source: Api, tmp_path: Path) -> None:
    archive = export(source, tmp_path / "rec.tar").read_bytes()
    with server(tmp_path / "target") as target:
        with pytest.raises(FacekeeperError) as truncated:
            import_archive(target, archive[: len(archive) // 2])
        assert truncated.value.error is Error.ARCHIVE_INVALID
        partly = len(dump(target)[1])
        report = import_archive(target, archive)
        assert (report.imported, report.already_imported) == (3 - partly, partly)
        again = import_archive(target, archive)
        assert (again.imported, again.already_imported) == (0, 3)
        assert dump(target) == dump(source)


def test_an_id_taken_by_another_service_gets_a_new_one_once(source: Api, tmp_path: Path) -> None:
    archive = export(source, tmp_path / "rec.tar")
    other = source.services.api_keys.create("copy", rec(source).type)
    importer = ArchiveImport(
        source.services.examples, source.services.subjects, source.services.workers.inference_pool, 5_000_000
    )
    for expected in (3, 0):
        with open(archive, "rb") as stream:
            assert importer.run(other, stream, "archive").imported == expected
    with source.services.db.transaction() as session:
        copied = list(BulkRepository(session).examples(other.id, True))
    assert len(copied) == 3 and not {row.id for row in copied} & {row[0] for row in dump(source)[1]}


def test_another_calculator_re_embeds_from_the_images(source: Api, tmp_path: Path) -> None:
    archive = export(source, tmp_path / "rec.tar")
    with server(tmp_path / "target", embedder="colours-v2") as target:
        report = import_archive(target, archive)
        assert (report.details["mode"], report.imported) == ("re-embed", 3)
        assert target.services.examples.calculators(rec(target)) == [(V2, 4)]
        assert [row[0] for row in dump(target)[1]] == [row[0] for row in dump(source)[1]]  # ids kept
        assert recognize(target)[0]["subject"] == "Red"


def test_another_calculator_without_images_is_refused(source: Api, tmp_path: Path) -> None:
    archive = export(source, tmp_path / "rec.tar", with_images=False)
    with server(tmp_path / "target", embedder="colours-v2") as target:
        with pytest.raises(FacekeeperError) as refused:
            import_archive(target, archive)
        assert refused.value.error is Error.CALCULATOR_MISMATCH
        assert dump(target)[1] == []


def test_examples_without_image_or_hash_are_all_copied(tmp_path: Path) -> None:
    with server(tmp_path / "source") as source:
        with source.services.db.transaction() as session:
            bulk = BulkRepository(session)
            subject = bulk.add_subjects(rec(source).id, ["Ada"])["ada"]
            vectors = np.eye(4, dtype=np.float32)[:3]
            rows = [NewExampleRow(subject.id, v, "colours.Calculator@test", None) for v in vectors]
            bulk.add_examples(rec(source).id, rows)
        archive = export(source, tmp_path / "rec.tar", with_images=False)
        with server(tmp_path / "target") as target:
            assert import_archive(target, archive).imported == 3
            assert dump(target) == dump(source)


def test_an_export_refuses_mixed_calculators(source: Api, tmp_path: Path) -> None:
    with source.services.db.transaction() as session:
        bulk = BulkRepository(session)
        subject = bulk.add_subjects(rec(source).id, ["Old"])["old"]
        bulk.add_examples(rec(source).id, [NewExampleRow(subject.id, np.ones(4, np.float32) / 2, "older@1", None)])
    with pytest.raises(FacekeeperError) as refused:
        export(source, tmp_path / "rec.tar")
    assert refused.value.error is Error.CALCULATORS_MIXED and "older@1" in refused.value.message


def test_many_chunks_compressed(tmp_path: Path) -> None:
    with server(tmp_path / "source") as source:
        service = rec(source)
        rng = np.random.default_rng(1)
        with source.services.db.transaction() as session:
            bulk = BulkRepository(session)
            subjects = bulk.add_subjects(service.id, [f"person {n}" for n in range(60)])
            rows = [
                NewExampleRow(
                    subjects[f"person {n % 60}"].id,
                    (v := rng.normal(size=4).astype(np.float32)) / np.linalg.norm(v),
                    "colours.Calculator@test",
                    f"image {n}".encode(),
                )
                for n in range(700)
            ]
            bulk.add_examples(service.id, rows)
        archive = export(source, tmp_path / "rec.tar.gz", compress=True)
        with tarfile.open(archive, "r:gz") as tar:
            names = tar.getnames()
        assert names[0] == "manifest.json" and names.count("subjects/000000.jsonl") == 1
        assert [n for n in names if n.startswith("examples/")] == [f"examples/00000{i}.jsonl" for i in range(3)]
        with server(tmp_path / "target") as target:
            assert import_archive(target, archive).imported == 700
            assert dump(target) == dump(source)


def tar_of(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def members(archive: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(archive) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def test_damaged_archives_are_refused_with_the_reason(source: Api, tmp_path: Path) -> None:
    good = members(export(source, tmp_path / "rec.tar"))
    manifest = json.loads(good[0][1])
    image_at = next(i for i, (name, _) in enumerate(good) if name.startswith("images/"))
    damaged = {
        "not a tar archive": b"PK\x03\x04 a zip file",
        "manifest.json must come first": tar_of(good[1:]),
        "format version 2": tar_of([("manifest.json", json.dumps({**manifest, "version": 2}).encode()), *good[1:]]),
        "does not match its sha256": tar_of(
            [*good[:image_at], (good[image_at][0], b"other bytes"), *good[image_at + 1 :]]
        ),
        "unexpected member": tar_of([*good, ("notes.txt", b"hello")]),
    }
    with server(tmp_path / "target") as target:
        for reason, archive in damaged.items():
            with pytest.raises(FacekeeperError) as refused:
                import_archive(target, archive)
            assert refused.value.error is Error.ARCHIVE_INVALID and reason in refused.value.message, reason
