"""Example faces of subjects: enrol, list, delete, download (CompreFace §4.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.exc import IntegrityError

from facekeeper.domain import CALCULATOR, Example, ScanOptions, ServiceRecord, l2_normalize
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.services.collection import FaceCollections
from facekeeper.storage.repositories import ExampleRepository

MAX_SUBJECT_NAME_LENGTH = 255  # the column size; CompreFace applies no other rule when enrolling


@dataclass(frozen=True)
class ExamplePage:
    examples: list[Example]
    page: int
    size: int
    total: int

    @property
    def total_pages(self) -> int:
        return (self.total + self.size - 1) // self.size


class ExampleService:
    def __init__(self, collections: FaceCollections, pipeline: FacePipeline, save_images: bool) -> None:
        self.collections = collections
        self.pipeline = pipeline
        self.save_images = save_images

    def add(self, service: ServiceRecord, subject: str, image: bytes, det_prob_threshold: float | None) -> Example:
        """Enrol one face. The embedding, the image and the subject commit together or not at all."""
        if not subject.strip():
            raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="Subject name is empty; ")
        if len(subject) > MAX_SUBJECT_NAME_LENGTH:
            raise FacekeeperError(
                Error.CONSTRAINT_VIOLATION,
                details=f"Subject name is longer than {MAX_SUBJECT_NAME_LENGTH} characters; ",
            )
        scan = self.pipeline.scan(
            image,
            ScanOptions(det_prob_threshold=det_prob_threshold, plugins=frozenset({CALCULATOR}), max_faces=2),
        )
        if len(scan.faces) > 1:
            raise FacekeeperError(Error.TOO_MANY_FACES)
        embedding = scan.faces[0].embedding
        assert embedding is not None
        vector = l2_normalize(embedding)
        calculator = scan.plugins_versions["calculator"]
        for attempt in range(3):
            try:
                image_id = self._store(service, subject, vector, calculator, image)
                break
            except IntegrityError:
                # Another request (or process) created this subject between our lookup and insert;
                # on PostgreSQL the unique index is the only arbiter. The next attempt finds it.
                if attempt == 2:
                    raise
        # CompreFace echoes the subject as sent, not as stored.
        return Example(image_id, subject)

    def _store(self, service: ServiceRecord, subject: str, vector: np.ndarray, calculator: str, image: bytes) -> str:
        with self.collections.write(service) as write:
            stored = write.subjects.find(service.id, subject) or write.subjects.add(service.id, subject)
            image_id = write.examples.add(
                service.id, stored.id, vector, calculator, image if self.save_images else None
            )
            write.then(lambda index, revision: index.added(service.id, revision, image_id, stored.name, vector))
        return image_id

    def page(self, service: ServiceRecord, subject: str | None, page: int, size: int) -> ExamplePage:
        with self.collections.db.transaction() as session:
            examples, total = ExampleRepository(session).page(service.id, subject, page, size)
        return ExamplePage(examples, page, size, total)

    def delete_by_subject(self, service: ServiceRecord, subject: str | None) -> int:
        """D1: without a subject, every example of the service; with one, the subject goes too."""
        if subject is not None and not subject.strip():
            raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="Subject name is empty; ")
        with self.collections.write(service) as write:
            if subject is None:
                image_ids = write.examples.of_service(service.id)
                write.examples.delete(service.id, image_ids)
            else:
                stored = write.subjects.find(service.id, subject)
                if stored is None:
                    return 0
                image_ids = write.examples.of_subject(stored.id)
                write.subjects.delete(stored.id)
            if image_ids:
                write.then(lambda index, revision: index.removed(service.id, revision, image_ids))
            return len(image_ids)

    def delete(self, service: ServiceRecord, image_id: str) -> Example:
        deleted = self.delete_many(service, [image_id])
        if not deleted:
            raise FacekeeperError(Error.EXAMPLE_NOT_FOUND, image_id=image_id)
        return deleted[0]

    def delete_many(self, service: ServiceRecord, image_ids: list[str]) -> list[Example]:
        """Unknown ids and other services' ids are skipped; subjects stay even when left empty."""
        with self.collections.write(service) as write:
            found = write.examples.existing(service.id, list(dict.fromkeys(image_ids)))
            ids = [example.image_id for example in found]
            write.examples.delete(service.id, ids)
            if ids:
                write.then(lambda index, revision: index.removed(service.id, revision, ids))
        return found

    def image(self, service: ServiceRecord, image_id: str) -> bytes:
        with self.collections.db.transaction() as session:
            return ExampleRepository(session).image(service.id, image_id) or b""

    def image_by_api_key(self, api_key: str, image_id: str) -> bytes:
        with self.collections.db.transaction() as session:
            return ExampleRepository(session).image_by_api_key(api_key, image_id) or b""
