"""`FolderImport`: one folder per subject, every skip with its reason, resumable, through the API's services."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facekeeper.domain import ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pool import InferencePool
from facekeeper.services.bulk import ImportReport, in_pool
from facekeeper.services.examples import content_sha256
from facekeeper.services.folder_import import FolderImport
from facekeeper.storage.bulk import BulkRepository, NewExampleRow
from tests.conftest import Api
from tests.support.squares import GREEN, RED, image, one_face


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    write(root / "Red" / "a.png", one_face(RED))
    write(root / "Red" / "b.png", one_face(RED, side=60))
    write(root / "Red" / "a copy.png", one_face(RED))  # the same image twice: imported once
    write(root / "Red" / "2019" / "c.png", one_face(RED, side=70))  # nested folders belong to the subject
    write(root / "Green" / "g.png", one_face(GREEN))
    write(root / "Green" / "notes.txt", b"not a photo")
    write(root / "Green" / "pair.png", image([(10, 10, 60, GREEN), (150, 100, 60, RED)]))
    write(root / "Nobody" / "black.png", image([]))
    write(root / "Nobody" / "broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    write(root / "Nobody" / "huge.png", one_face(GREEN) + b"\0" * 20_000)
    write(root / "loose.png", one_face(RED))
    write(root / ".thumbnails" / "x.png", one_face(RED))  # hidden: ignored
    write(root / "Red" / ".DS_Store", b"\0\0")
    return root


def importer(api: Api) -> FolderImport:
    return FolderImport(api.services.examples, api.services.workers.inference_pool, max_file_bytes=15_000)


def service(api: Api) -> ServiceRecord:
    return api.services.api_keys.recognition_service("rec")


def reasons(report: ImportReport) -> dict[str, str]:
    return {skipped.path: skipped.reason.value for skipped in report.skipped}


def subjects_and_counts(api: Api) -> dict[str, int]:
    faces = api.client.get("/api/v1/recognition/faces", params={"size": 100}, headers=api.headers()).json()
    counts: dict[str, int] = {}
    for face in faces["faces"]:
        counts[face["subject"]] = counts.get(face["subject"], 0) + 1
    return counts


def test_imports_one_folder_per_subject_and_says_why_files_were_skipped(api: Api, photos: Path) -> None:
    seen: list[int] = []
    report = importer(api).run(service(api), photos, lambda r: seen.append(r.done))
    assert reasons(report) == {
        "Green/notes.txt": "unsupported_format",
        "Green/pair.png": "several_faces",
        "Nobody/black.png": "no_face",
        "Nobody/broken.jpg": "unreadable",
        "Nobody/huge.png": "too_large",
        "loose.png": "not_in_subject_folder",
    }
    assert (report.total, report.imported, report.already_imported) == (11, 4, 1)
    assert subjects_and_counts(api) == {"Red": 3, "Green": 1}
    assert seen == sorted(seen) and seen[-1] == report.total == report.done
    found = api.client.post(
        "/api/v1/recognition/recognize", files={"file": ("q.png", one_face(RED, side=90))}, headers=api.headers()
    ).json()
    assert found["result"][0]["subjects"][0]["subject"] == "Red"


def test_a_second_run_resumes_instead_of_duplicating(api: Api, photos: Path) -> None:
    first = importer(api).run(service(api), photos)
    again = importer(api).run(service(api), photos)
    assert (again.imported, again.already_imported) == (0, first.imported + first.already_imported)
    assert reasons(again) == reasons(first)
    write(photos / "Green" / "new.png", one_face(GREEN, side=50))
    (photos / "Red" / "b.png").rename(photos / "Green" / "b.png")  # relabelled: imported under Green
    third = importer(api).run(service(api), photos)
    assert third.imported == 2
    assert subjects_and_counts(api) == {"Red": 3, "Green": 3}


def test_the_stored_example_is_the_file_with_its_hash(api: Api, photos: Path) -> None:
    importer(api).run(service(api), photos)
    faces = api.client.get("/api/v1/recognition/faces", params={"subject": "Green"}, headers=api.headers()).json()
    image_id = faces["faces"][0]["image_id"]
    stored = api.client.get(f"/api/v1/recognition/faces/{image_id}/img", headers=api.headers()).content
    assert stored == (photos / "Green" / "g.png").read_bytes()
    assert api.services.examples.holds_image(service(api), "green", content_sha256(stored))


def test_refuses_to_mix_calculators(api: Api, photos: Path) -> None:
    target = service(api)
    with api.services.db.transaction() as session:
        bulk = BulkRepository(session)
        subject = bulk.add_subjects(target.id, ["Old"])["old"]
        bulk.add_examples(target.id, [NewExampleRow(subject.id, np.ones(4, np.float32) / 2, "older@1", None)])
    with pytest.raises(FacekeeperError) as raised:
        importer(api).run(target, photos)
    assert raised.value.error is Error.CALCULATOR_CONFLICT
    assert "older@1" in raised.value.message and "colours.Calculator@test" in raised.value.message


def test_not_a_directory(api: Api, tmp_path: Path) -> None:
    with pytest.raises(FacekeeperError) as raised:
        importer(api).run(service(api), tmp_path / "missing")
    assert raised.value.error is Error.FILE_UNUSABLE


def test_the_pool_never_holds_more_than_its_bound() -> None:
    pool = InferencePool(2)
    taken, running, peak = [0], [0], [0]
    lock = threading.Lock()

    def items() -> Iterator[int]:
        for n in range(50):
            taken[0] += 1
            yield n

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        with lock:
            running[0] -= 1
        return n * n

    try:
        results: list[int] = []
        for result in in_pool(pool, work, items(), in_flight=4):
            assert taken[0] - len(results) <= 4  # never more than 4 submitted and not yet consumed
            results.append(result)
    finally:
        pool.shutdown()
    assert results == [n * n for n in range(50)] and peak[0] <= 2
