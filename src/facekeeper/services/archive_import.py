"""`facekeeper import-archive`: an export (`archive_format.py`) into a recognition service.

When the archive's calculator is the one this server computes, embeddings are copied as they are: no
image is decoded and no model runs. Otherwise every example is embedded again from its image, in the
inference pool; an archive without images is refused then, since nothing could be compared.

Image ids are kept when no other example in the database holds them, so clients that stored ids (verify
against an example, download its image) keep working. Re-running the same import resumes: an example
whose id is already in the service, or whose subject already holds the same image, is not added again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import IO

import numpy as np

from facekeeper.domain import ServiceRecord, l2_normalize
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pool import InferencePool
from facekeeper.services.archive_format import ArchivedExample, ArchiveReader, ExampleChunk, Manifest
from facekeeper.services.bulk import (
    BATCH_SIZE,
    COPY_BATCH_SIZE,
    BatchWriter,
    ImportReport,
    Progress,
    Skipped,
    SkipReason,
    check_one_calculator,
    embed_or_skip,
    in_pool,
)
from facekeeper.services.examples import ExampleService, NewExample, check_example_subject
from facekeeper.services.subjects import SubjectService


class ArchiveImport:
    service: ServiceRecord  # the run's target, and its embedder's calculator
    calculator: str

    def __init__(
        self, examples: ExampleService, subjects: SubjectService, pool: InferencePool, max_file_bytes: int
    ) -> None:
        self.examples = examples
        self.subjects = subjects
        self.pool = pool
        self.max_file_bytes = max_file_bytes

    def run(
        self, service: ServiceRecord, source: IO[bytes], label: str, progress: Progress | None = None
    ) -> ImportReport:
        """Into the service's collection, in its embedder's vectors (copied when the archive's match)."""
        self.service = service
        self.calculator = self.examples.calculator_of(service)
        started = time.monotonic()
        reader = ArchiveReader(source, label)
        manifest = reader.manifest
        re_embed = self._must_re_embed(manifest, label)
        check_one_calculator(self.examples, service, self.calculator)
        report = ImportReport(
            service.name,
            label,
            total=manifest.examples,
            details={
                "mode": "re-embed" if re_embed else "copy",
                "archive_calculator": manifest.calculator,
                "calculator": self.calculator,
            },
        )
        batch_size = BATCH_SIZE if re_embed else COPY_BATCH_SIZE
        writer = BatchWriter(self.examples, service, report, progress, started, batch_size)
        subjects_seen = examples_seen = 0
        for chunk in reader.chunks():
            if isinstance(chunk, ExampleChunk):
                examples_seen += len(chunk.examples)
                self._add(service, chunk, writer, re_embed)
            else:
                subjects_seen += len(chunk.names)
                self.subjects.ensure(service, [name for name in chunk.names if _valid_subject(name)])
        writer.finish()
        if (subjects_seen, examples_seen) != (manifest.subjects, manifest.examples):
            reason = (
                f"it ends after {subjects_seen} of {manifest.subjects} subjects and "
                f"{examples_seen} of {manifest.examples} examples (what was read is imported; re-run to resume)"
            )
            raise FacekeeperError(Error.ARCHIVE_INVALID, path=label, reason=reason)
        return report

    def _must_re_embed(self, manifest: Manifest, label: str) -> bool:
        if manifest.examples == 0 or manifest.calculator == self.calculator:
            expected = self.examples.pipeline.embedder_for(self.service.embedder).dimension
            if manifest.examples and manifest.dimension != expected:
                reason = (
                    f"embeddings of {manifest.dimension} dimensions from {manifest.calculator}, which makes {expected}"
                )
                raise FacekeeperError(Error.ARCHIVE_INVALID, path=label, reason=reason)
            return False
        if manifest.images == 0:
            raise FacekeeperError(Error.CALCULATOR_MISMATCH, archive=manifest.calculator, server=self.calculator)
        return True

    def _add(self, service: ServiceRecord, chunk: ExampleChunk, writer: BatchWriter, re_embed: bool) -> None:
        stored = self.examples.stored_ids(service, [example.image_id for example in chunk.examples])
        todo: list[ArchivedExample] = []
        for example in chunk.examples:
            if not _valid_subject(example.subject):
                problem = "subject name is empty or too long"
                writer.skip(Skipped(_label(chunk, example), SkipReason.BAD_SUBJECT, problem))
            elif example.image_id in stored:
                writer.already_imported()
            else:
                todo.append(example)
        results: Iterator[NewExample | Skipped]
        if re_embed:
            results = in_pool(self.pool, lambda e: self._re_embedded(chunk, e), todo, in_flight=2 * self.pool.workers)
        else:
            results = map(self._copied, todo)
        for result in results:
            writer.take(result)

    def _copied(self, example: ArchivedExample) -> NewExample:
        vector = example.vector
        if abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:  # keep exported bits; fix hand-made archives
            vector = l2_normalize(vector)
        return self.examples.new_example(
            example.subject,
            vector,
            self.calculator,
            example.image,
            known_sha256=example.content_sha256,
            image_id=example.image_id,
            created_at=example.created_at,
            skip_same_content=True,
        )

    def _re_embedded(self, chunk: ExampleChunk, example: ArchivedExample) -> NewExample | Skipped:
        """In an inference worker."""
        label = _label(chunk, example)
        if example.image is None:
            return Skipped(label, SkipReason.NO_IMAGE, "no image to compute a new embedding from")
        embedded = embed_or_skip(self.examples, example.image, label, self.max_file_bytes, self.service.embedder)
        if isinstance(embedded, Skipped):
            return embedded
        vector, calculator = embedded
        return self.examples.new_example(
            example.subject,
            vector,
            calculator,
            example.image,
            image_id=example.image_id,
            created_at=example.created_at,
            skip_same_content=True,
        )


def _valid_subject(name: str) -> bool:
    try:
        check_example_subject(name)
    except FacekeeperError:
        return False
    return True


def _label(chunk: ExampleChunk, example: ArchivedExample) -> str:
    return f"{chunk.member}#{example.image_id}"
