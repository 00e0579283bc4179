"""Example faces of subjects: enrol, list, delete, download (CompreFace §4.2)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from sqlalchemy.exc import IntegrityError

from facekeeper.domain import CALCULATOR, Example, ScanOptions, ServiceRecord, is_canonical_uuid, l2_normalize
from facekeeper.errors import Error, FacekeeperError
from facekeeper.index.changes import Added, Removed, Reset
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.services.collection import CollectionWrite, FaceCollections
from facekeeper.services.subjects import check_no_nul
from facekeeper.storage.bulk import BulkRepository, NewExampleRow
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository

MAX_SUBJECT_NAME_LENGTH = 255  # the column size; CompreFace applies no other rule when enrolling


def check_example_subject(subject: str) -> None:
    """Enrolment's rules, as in CompreFace: not blank, and it fits the column; and no NUL (PostgreSQL
    cannot store it, so no store may hold it)."""
    if not subject.strip():
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="Subject name is empty; ")
    if len(subject) > MAX_SUBJECT_NAME_LENGTH:
        raise FacekeeperError(
            Error.CONSTRAINT_VIOLATION,
            details=f"Subject name is longer than {MAX_SUBJECT_NAME_LENGTH} characters; ",
        )
    check_no_nul(subject)


def content_sha256(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


@dataclass(frozen=True)
class NewExample:
    """An embedded face ready to be stored; made by `ExampleService.new_example`."""

    subject: str
    vector: np.ndarray  # L2-normalised float32
    calculator: str
    image: bytes | None  # what is stored: None without `save_images_to_db`
    content_sha256: str | None
    image_id: str | None = None  # an id to keep (archive import); used only if free in the database
    created_at: datetime | None = None
    skip_same_content: bool = False  # a re-run import: skip it when its subject has this image already


@dataclass(frozen=True)
class StoreOutcome:
    image_id: str  # "" when skipped as already stored under another id
    subject: str  # the stored spelling
    written: bool


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
        check_example_subject(subject)
        vector, calculator = self.embed(image, det_prob_threshold, service.embedder)
        return self.add_embedded(service, subject, vector, calculator, image)

    def add_embedded(
        self, service: ServiceRecord, subject: str, vector: np.ndarray, calculator: str, image: bytes
    ) -> Example:
        """The database half of `add` (the API runs it in the database pool, apart from the models)."""
        [outcome] = self.store(service, [self.new_example(subject, vector, calculator, image)])
        # CompreFace echoes the subject as sent, not as stored.
        return Example(outcome.image_id, subject)

    def embed(
        self, image: bytes | np.ndarray, det_prob_threshold: float | None = None, embedder: str | None = None
    ) -> tuple[np.ndarray, str]:
        """The L2-normalised embedding of the image's one face (bytes, or decoded RGB pixels) by `embedder`
        (the collection's; None: the server's active one) and the calculator that made it; code 28 without
        a face, 31 with several."""
        options = ScanOptions(
            det_prob_threshold=det_prob_threshold, plugins=frozenset({CALCULATOR}), max_faces=2, embedder=embedder
        )
        scan = (
            self.pipeline.scan(image, options) if isinstance(image, bytes) else self.pipeline.scan_image(image, options)
        )
        if len(scan.faces) > 1:
            raise FacekeeperError(Error.TOO_MANY_FACES)
        embedding = scan.faces[0].embedding
        assert embedding is not None
        return l2_normalize(embedding), scan.plugins_versions[CALCULATOR]

    def new_example(
        self,
        subject: str,
        vector: np.ndarray,
        calculator: str,
        image: bytes | None,
        *,
        known_sha256: str | None = None,
        image_id: str | None = None,
        created_at: datetime | None = None,
        skip_same_content: bool = False,
    ) -> NewExample:
        """What `store` writes: the image only with `save_images_to_db`, its hash always (`known_sha256`
        when the example comes without its image)."""
        digest = content_sha256(image) if image is not None else known_sha256
        stored_image = image if self.save_images else None
        return NewExample(subject, vector, calculator, stored_image, digest, image_id, created_at, skip_same_content)

    def store(self, service: ServiceRecord, examples: Sequence[NewExample]) -> list[StoreOutcome]:
        """Write a batch in one transaction (one example for the API, many for a bulk import).

        An example that keeps an id from an archive and finds it already in this service, or that asks
        `skip_same_content` and finds its subject already holding the same image, is not written again:
        that is what makes a re-run import resume instead of duplicating.
        """
        for attempt in range(3):
            try:
                return self._store(service, examples)
            except IntegrityError:
                # Another request (or process) created one of these subjects between our lookup and
                # insert; on PostgreSQL the unique index is the only arbiter. The next attempt finds it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def calculator_of(self, service: ServiceRecord) -> str:
        """The calculator version of the service's embedder (what its examples must carry)."""
        return self.pipeline.embedder_for(service.embedder).version

    def _check_embedder(self, write: CollectionWrite, examples: Sequence[NewExample]) -> None:
        """Under the writer lock: every vector comes from the service's embedder as committed now (a
        migration may have switched it since the request read the service)."""
        embedder = ServiceRepository(write.session).embedder(write.service.id) or write.service.embedder
        expected = self.pipeline.embedder_for(embedder).version
        if any(example.calculator != expected for example in examples):
            raise FacekeeperError(Error.EMBEDDER_CHANGED, name=write.service.name, embedder=embedder)

    def _store(self, service: ServiceRecord, examples: Sequence[NewExample]) -> list[StoreOutcome]:
        with self.collections.write(service) as write:
            self._check_embedder(write, examples)
            bulk = BulkRepository(write.session)
            subjects = bulk.add_subjects(service.id, (example.subject for example in examples))
            owners = bulk.owners(example.image_id for example in examples if example.image_id)
            stored_contents = bulk.contents(
                service.id, (e.content_sha256 for e in examples if e.skip_same_content and e.content_sha256)
            )
            outcomes: list[StoreOutcome] = []
            rows: list[NewExampleRow] = []
            for example in examples:
                subject = subjects[example.subject.casefold()]
                if example.image_id and owners.get(example.image_id) == service.id:
                    outcomes.append(StoreOutcome(example.image_id, subject.name, written=False))
                    continue
                if example.skip_same_content and example.content_sha256 is not None:
                    content = (example.content_sha256, subject.id)
                    if content in stored_contents:
                        outcomes.append(StoreOutcome("", subject.name, written=False))
                        continue
                    stored_contents.add(content)  # the same image twice in one batch is written once
                keep_id = example.image_id if example.image_id and example.image_id not in owners else None
                rows.append(
                    NewExampleRow(
                        subject.id,
                        example.vector,
                        example.calculator,
                        example.image,
                        example.content_sha256,
                        keep_id,
                        example.created_at,
                    )
                )
                outcomes.append(StoreOutcome("", subject.name, written=True))
            ids = iter(bulk.add_examples(service.id, rows))
            outcomes = [replace(o, image_id=next(ids)) if o.written else o for o in outcomes]
            for outcome, example in zip(outcomes, examples, strict=True):
                if outcome.written:
                    write.record(Added(outcome.image_id, outcome.subject, example.vector))
        return outcomes

    def holds_image(self, service: ServiceRecord, subject: str, digest: str) -> bool:
        """Whether `subject` already has an example made from the image with this SHA-256."""
        with self.collections.db.transaction() as session:
            return BulkRepository(session).has_content(service.id, digest, subject)

    def stored_ids(self, service: ServiceRecord, image_ids: list[str]) -> set[str]:
        with self.collections.db.transaction() as session:
            owners = BulkRepository(session).owners(image_ids)
        return {image_id for image_id, owner in owners.items() if owner == service.id}

    def calculators(self, service: ServiceRecord) -> list[tuple[str, int]]:
        """(calculator, dimension) of the service's examples: one pair unless a model changed."""
        with self.collections.db.transaction() as session:
            return BulkRepository(session).calculators(service.id)

    def page(self, service: ServiceRecord, subject: str | None, page: int, size: int) -> ExamplePage:
        if subject is not None:
            check_no_nul(subject)
        with self.collections.db.transaction() as session:
            examples, total = ExampleRepository(session).page(service.id, subject, page, size)
        return ExamplePage(examples, page, size, total)

    def delete_by_subject(self, service: ServiceRecord, subject: str | None) -> int:
        """D1: without a subject, every example of the service; with one, the subject goes too."""
        if subject is not None and not subject.strip():
            raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details="Subject name is empty; ")
        if subject is not None:
            check_no_nul(subject)
        with self.collections.write(service) as write:
            if subject is None:
                deleted = write.examples.delete_all(service.id)
                if deleted:
                    write.record(Reset())
                return deleted
            stored = write.subjects.find(service.id, subject)
            if stored is None:
                return 0
            deleted = write.examples.count_of_subject(stored.id)
            write.subjects.delete(stored.id)  # cascades to its examples and their images (D7)
            if deleted:
                write.record(Removed(subject=stored.name), examples_delta=-deleted)
            return deleted

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
                write.record(Removed(tuple(ids)))
        return found

    def image(self, service: ServiceRecord, image_id: str) -> bytes:
        with self.collections.db.transaction() as session:
            return ExampleRepository(session).image(service.id, image_id) or b""

    def image_by_api_key(self, api_key: str, image_id: str) -> bytes:
        """Empty for a key that cannot exist: such a key never reaches the database (nor its logs)."""
        if not is_canonical_uuid(api_key):
            return b""
        with self.collections.db.transaction() as session:
            return ExampleRepository(session).image_by_api_key(api_key, image_id) or b""
