"""`facekeeper import DIR`: one folder per subject, every image in it (subfolders included) an example.

Resumable: each example records the SHA-256 of its image, and a file whose subject already holds an
example with that hash is counted as already imported without being decoded again. So a re-run after an
interruption, or after adding photos, only embeds what is new; moving a photo to another subject's folder
imports it there. Files are walked in sorted order and never listed in memory all at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from facekeeper.domain import IMAGE_EXTENSIONS, ServiceRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pool import InferencePool
from facekeeper.services.bulk import (
    ALREADY_IMPORTED,
    BatchWriter,
    ImportReport,
    Prepared,
    Progress,
    Skipped,
    SkipReason,
    check_one_calculator,
    embed_or_skip,
    in_pool,
)
from facekeeper.services.examples import ExampleService, check_example_subject, content_sha256


@dataclass(frozen=True)
class SourceFile:
    subject: str
    path: Path
    label: str  # the path relative to the imported folder, as the report shows it


def _visible(name: str) -> bool:
    return not name.startswith(".")


def _walk(root: Path) -> Iterator[Path]:
    """Every regular file below `root` (not hidden, symlinked folders not followed), in sorted order."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if _visible(d))
        for name in sorted(f for f in files if _visible(f)):
            yield Path(folder) / name


class FolderImport:
    def __init__(self, examples: ExampleService, pool: InferencePool, max_file_bytes: int) -> None:
        self.examples = examples
        self.pool = pool
        self.max_file_bytes = max_file_bytes

    def files(self, root: Path) -> Iterator[SourceFile | Skipped]:
        if not root.is_dir():
            raise FacekeeperError(Error.FILE_UNUSABLE, action="import from", path=root, reason="not a directory")
        for path in _walk(root):
            relative = path.relative_to(root)
            label = relative.as_posix()
            if len(relative.parts) < 2:
                yield Skipped(label, SkipReason.NOT_IN_SUBJECT_FOLDER, "files go in one folder per subject")
                continue
            extension = path.suffix.lower().lstrip(".")
            if extension not in IMAGE_EXTENSIONS:
                message = f"extension .{extension} is not one of {', '.join(sorted(IMAGE_EXTENSIONS))}"
                yield Skipped(label, SkipReason.UNSUPPORTED_FORMAT, message if extension else "no extension")
                continue
            subject = relative.parts[0]
            try:
                check_example_subject(subject)
            except FacekeeperError as error:
                yield Skipped(label, SkipReason.BAD_SUBJECT, error.message.removesuffix("; "))
                continue
            yield SourceFile(subject, path, label)

    def count(self, root: Path) -> int:
        return sum(1 for _ in self.files(root))

    def run(self, service: ServiceRecord, root: Path, progress: Progress | None = None) -> ImportReport:
        check_one_calculator(self.examples, service, self.examples.calculator_of(service))
        started = time.monotonic()
        report = ImportReport(service.name, str(root), total=self.count(root))
        writer = BatchWriter(self.examples, service, report, progress, started)
        results = in_pool(
            self.pool, lambda item: self._prepare(service, item), self.files(root), in_flight=2 * self.pool.workers
        )
        for result in results:
            writer.take(result)
        writer.finish()
        return report

    def _prepare(self, service: ServiceRecord, item: SourceFile | Skipped) -> Prepared:
        """In an inference worker: read, recognise what is done, decode and embed."""
        if isinstance(item, Skipped):
            return item
        try:
            size = item.path.stat().st_size
            if size > self.max_file_bytes:  # refused before reading: the folder may hold videos
                message = f"{size} bytes exceed the limit of {self.max_file_bytes} bytes"
                return Skipped(item.label, SkipReason.TOO_LARGE, message)
            image = item.path.read_bytes()
        except OSError as error:
            return Skipped(item.label, SkipReason.UNREADABLE, error.strerror or str(error))
        if self.examples.holds_image(service, item.subject, content_sha256(image)):
            return ALREADY_IMPORTED
        embedded = embed_or_skip(self.examples, image, item.label, self.max_file_bytes, service.embedder)
        if isinstance(embedded, Skipped):
            return embedded
        vector, calculator = embedded
        return self.examples.new_example(item.subject, vector, calculator, image, skip_same_content=True)
