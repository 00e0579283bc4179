"""What the folder import and the archive import share: why a file was skipped, the report, embedding in
the inference pool with a bounded number of images in flight, and batched writes.

Batches go through `ExampleService.store`, the write path of the REST API: the same subject rules, the
same transaction helper, the same index bookkeeping.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np

from facekeeper.domain import ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.images import decode_image
from facekeeper.inference.pool import InferencePool
from facekeeper.services.examples import ExampleService, NewExample

T = TypeVar("T")
R = TypeVar("R")

OPTIMIZE_AFTER_EXAMPLES = 1000  # imports at least this big refresh the planner's statistics
# Examples per transaction: short enough (tens of ms) that a running server's writes never wait long.
BATCH_SIZE = 64
COPY_BATCH_SIZE = 256  # copied embeddings cost no inference: bigger batches save commits (one fsync each)
MAX_BATCH_WAIT_S = 1.0  # a slow trickle (mostly skipped files) still commits at least once a second


class SkipReason(StrEnum):
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    BAD_SUBJECT = "bad_subject"
    NOT_IN_SUBJECT_FOLDER = "not_in_subject_folder"
    NO_IMAGE = "no_image"


@dataclass(frozen=True)
class Skipped:
    path: str  # the file (folder import) or the archive member, as the user can find it
    reason: SkipReason
    message: str


class AlreadyImported:
    """An item the service holds already (same id, or its subject has the same image)."""


ALREADY_IMPORTED = AlreadyImported()
Prepared = NewExample | Skipped | AlreadyImported  # what preparing one file or record comes to


@dataclass
class ImportReport:
    """Counts so far (handed to the progress callback) and, at the end, the result."""

    service: str
    source: str
    total: int
    imported: int = 0
    already_imported: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    elapsed_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)  # e.g. an archive import's mode
    queued: int = 0  # embedded, waiting for their batch to commit

    @property
    def done(self) -> int:
        return self.imported + self.already_imported + len(self.skipped) + self.queued

    @property
    def per_second(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "source": self.source,
            "total": self.total,
            "imported": self.imported,
            "already_imported": self.already_imported,
            "skipped_count": len(self.skipped),
            "skipped_by_reason": dict(sorted(Counter(s.reason.value for s in self.skipped).items())),
            "skipped": [{"path": s.path, "reason": s.reason.value, "message": s.message} for s in self.skipped],
            "elapsed_s": round(self.elapsed_s, 3),
            "per_second": round(self.per_second, 2),
            **self.details,
        }


Progress = Callable[[ImportReport], None]


def check_one_calculator(examples: ExampleService, service: ServiceRecord, incoming: str) -> None:
    """Refuse an import that would leave the service with embeddings of two models (not comparable)."""
    existing = [calculator for calculator, _ in examples.calculators(service) if calculator != incoming]
    if existing:
        raise FacekeeperError(
            Error.CALCULATOR_CONFLICT, name=service.name, existing=", ".join(existing), incoming=incoming
        )


def embed_or_skip(
    examples: ExampleService, image: bytes, label: str, max_file_bytes: int, embedder: str | None = None
) -> tuple[np.ndarray, str] | Skipped:
    """The enrolment embedding of one image, or why the image cannot be an example. Decoding is done
    here, apart from detection, so an unreadable file is told apart from a photo without a face (the API
    reports both as code 28, as CompreFace does)."""
    if len(image) > max_file_bytes:
        error = FacekeeperError(Error.FILE_TOO_LARGE, size=len(image), limit=max_file_bytes)
        return Skipped(label, SkipReason.TOO_LARGE, error.message)
    try:
        pixels = decode_image(image, examples.pipeline.max_image_pixels)
    except FacekeeperError as error:
        too_large = error.error is Error.IMAGE_TOO_LARGE
        message = error.message if too_large else "not a readable image"
        return Skipped(label, SkipReason.TOO_LARGE if too_large else SkipReason.UNREADABLE, message)
    try:
        return examples.embed(pixels, embedder=embedder)
    except FacekeeperError as error:
        if error.error is Error.NO_FACES_FOUND:
            return Skipped(label, SkipReason.NO_FACE, error.message)
        if error.error is Error.TOO_MANY_FACES:
            return Skipped(label, SkipReason.SEVERAL_FACES, error.message)
        raise  # a model that cannot load, a bad setting: nothing the next file would do better


def in_pool(pool: InferencePool, fn: Callable[[T], R], items: Iterable[T], in_flight: int) -> Iterator[R]:
    """`fn` over `items` in the inference pool, results in input order, at most `in_flight` submitted at
    once: the pool's workers stay busy while memory holds a handful of images, not the whole folder."""
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


class BatchWriter:
    """Collects embedded examples and stores them in batches, counting what was written or was there."""

    def __init__(
        self,
        examples: ExampleService,
        service: ServiceRecord,
        report: ImportReport,
        progress: Progress | None,
        started: float,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.examples = examples
        self.batch_size = batch_size
        self.service = service
        self.report = report
        self.progress = progress
        self.started = started
        self._batch: list[NewExample] = []
        self._oldest = time.monotonic()

    def add(self, example: NewExample) -> None:
        if not self._batch:
            self._oldest = time.monotonic()
        self._batch.append(example)
        self.report.queued += 1
        if len(self._batch) >= self.batch_size or time.monotonic() - self._oldest > MAX_BATCH_WAIT_S:
            self.flush()
        else:
            self.tick()

    def take(self, prepared: Prepared) -> None:
        if isinstance(prepared, Skipped):
            self.skip(prepared)
        elif isinstance(prepared, AlreadyImported):
            self.already_imported()
        else:
            self.add(prepared)

    def already_imported(self) -> None:
        self.report.already_imported += 1
        self.tick()

    def skip(self, skipped: Skipped) -> None:
        self.report.skipped.append(skipped)
        self.tick()

    def flush(self) -> None:
        if self._batch:
            outcomes = self.examples.store(self.service, self._batch)
            written = sum(outcome.written for outcome in outcomes)
            self.report.imported += written
            self.report.already_imported += len(outcomes) - written
            self.report.queued -= len(self._batch)
            self._batch = []
        self.tick()

    def finish(self) -> None:
        """Store what is left; after a bulk change, refresh the planner's statistics (cheap, sampled)."""
        self.flush()
        if self.report.imported >= OPTIMIZE_AFTER_EXAMPLES:
            self.examples.collections.db.optimize()

    def tick(self) -> None:
        self.report.elapsed_s = time.monotonic() - self.started
        if self.progress is not None:
            self.progress(self.report)
