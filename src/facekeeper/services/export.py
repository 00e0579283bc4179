"""`facekeeper export`: a recognition service's subjects, examples, embeddings and images as an archive
(`archive_format.py`), read from one consistent snapshot while the server keeps serving and writing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from facekeeper import __version__
from facekeeper.domain import ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.archive_format import ArchiveWriter, Manifest
from facekeeper.storage.bulk import BulkRepository
from facekeeper.storage.db import Database

ExportProgress = Callable[[int, int], None]  # (examples written, examples in all)


@dataclass(frozen=True)
class ExportReport:
    manifest: Manifest
    elapsed_s: float

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.manifest.service,
            "calculator": self.manifest.calculator,
            "subjects": self.manifest.subjects,
            "examples": self.manifest.examples,
            "images": self.manifest.images,
            "elapsed_s": round(self.elapsed_s, 3),
        }


class ExportService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def export(
        self,
        service: ServiceRecord,
        out: IO[bytes],
        *,
        with_images: bool = True,
        compress: bool = False,
        progress: ExportProgress | None = None,
    ) -> ExportReport:
        started = time.monotonic()
        with self.db.snapshot() as session:
            bulk = BulkRepository(session)
            calculators = bulk.calculators(service.id)
            if len(calculators) > 1:
                listed = ", ".join(calculator for calculator, _ in calculators)
                raise FacekeeperError(Error.CALCULATORS_MIXED, name=service.name, calculators=listed)
            calculator, dimension = calculators[0] if calculators else (None, None)
            subjects, examples, images = bulk.counts(service.id)
            manifest = Manifest(
                service=service.name,
                calculator=calculator,
                dimension=dimension,
                subjects=subjects,
                examples=examples,
                images=images if with_images else 0,
                created_at=datetime.now(UTC).isoformat(),
                facekeeper_version=__version__,
            )
            writer = ArchiveWriter(out, compress=compress)
            writer.manifest(manifest)
            writer.subjects(bulk.subject_names(service.id))
            written = 0
            for chunk in writer.examples(bulk.examples(service.id, with_images)):
                written += len(chunk)
                if progress is not None:
                    progress(written, examples)
            writer.close()
        return ExportReport(manifest, time.monotonic() - started)
