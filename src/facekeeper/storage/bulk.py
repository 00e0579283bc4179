"""SQL for moving many examples at once: batched inserts, the lookups that make an import resumable, and
the streamed reads of an export. Inserts take one statement per table per batch (executemany), not one
ORM flush per row; reads stream in partitions so a million examples never sit in memory together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from facekeeper.domain import new_id
from facekeeper.storage.repositories import SubjectRecord, mark_subjects_written
from facekeeper.storage.tables import ExampleImageTable, ExampleTable, SubjectTable, utc_now

_STREAM_PARTITION = 256  # rows per fetch: bounds memory when rows carry their images


@dataclass(frozen=True)
class NewExampleRow:
    subject_id: str
    embedding: np.ndarray  # float32, L2-normalised
    calculator: str
    image: bytes | None
    content_sha256: str | None = None
    id: str | None = None  # None: a new time-ordered id
    created_at: datetime | None = None  # None: now


@dataclass(frozen=True)
class StoredExampleRow:
    """One example as an export writes it."""

    id: str
    subject: str
    embedding: bytes  # float32, native byte order as stored
    calculator: str
    content_sha256: str | None
    created_at: datetime
    image: bytes | None


class BulkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- writing -------------------------------------------------------------------------------------

    def add_examples(self, service_id: str, rows: Sequence[NewExampleRow]) -> list[str]:
        """Insert `rows` (their subjects must exist); returns their ids in order."""
        if not rows:
            return []
        ids = [row.id or new_id() for row in rows]
        now = utc_now()
        examples = []
        for example_id, row in zip(ids, rows, strict=True):
            vector = np.ascontiguousarray(row.embedding, dtype=np.float32)
            examples.append(
                {
                    "id": example_id,
                    "service_id": service_id,
                    "subject_id": row.subject_id,
                    "embedding": vector.tobytes(),
                    "dimension": int(vector.shape[0]),
                    "calculator": row.calculator,
                    "content_sha256": row.content_sha256,
                    "created_at": row.created_at or now,
                }
            )
        self.session.execute(insert(ExampleTable), examples)
        images = [
            {"example_id": example_id, "content": row.image}
            for example_id, row in zip(ids, rows, strict=True)
            if row.image is not None
        ]
        if images:
            self.session.execute(insert(ExampleImageTable), images)
        return ids

    def add_subjects(self, service_id: str, names: Iterable[str]) -> dict[str, SubjectRecord]:
        """Create the subjects that do not exist yet (ignoring case); every name's record by folded name."""
        wanted = {name.casefold(): name for name in names}
        found = self.subjects(service_id, wanted.values())
        missing = [{"id": new_id(), "name": n, "name_folded": f} for f, n in wanted.items() if f not in found]
        if missing:
            self.session.execute(
                insert(SubjectTable), [{**row, "service_id": service_id, "created_at": utc_now()} for row in missing]
            )
            mark_subjects_written(self.session)
            found.update({row["name_folded"]: SubjectRecord(row["id"], row["name"]) for row in missing})
        return found

    # --- what is already there -----------------------------------------------------------------------

    def subjects(self, service_id: str, names: Iterable[str]) -> dict[str, SubjectRecord]:
        folded = list({name.casefold() for name in names})
        if not folded:
            return {}
        rows = self.session.execute(
            select(SubjectTable.id, SubjectTable.name, SubjectTable.name_folded).where(
                SubjectTable.service_id == service_id, SubjectTable.name_folded.in_(folded)
            )
        )
        return {row.name_folded: SubjectRecord(row.id, row.name) for row in rows}

    def has_content(self, service_id: str, content_sha256: str, subject: str) -> bool:
        """Whether `subject` already has an example made from this very image."""
        return (
            self.session.scalar(
                select(ExampleTable.id)
                .join(SubjectTable, SubjectTable.id == ExampleTable.subject_id)
                .where(
                    ExampleTable.service_id == service_id,
                    ExampleTable.content_sha256 == content_sha256,
                    SubjectTable.name_folded == subject.casefold(),
                )
                .limit(1)
            )
            is not None
        )

    def contents(self, service_id: str, hashes: Iterable[str]) -> set[tuple[str, str]]:
        """(content_sha256, subject_id) pairs among `hashes` stored in the service."""
        wanted = list(set(hashes))
        if not wanted:
            return set()
        rows = self.session.execute(
            select(ExampleTable.content_sha256, ExampleTable.subject_id).where(
                ExampleTable.service_id == service_id, ExampleTable.content_sha256.in_(wanted)
            )
        )
        return {(row.content_sha256, row.subject_id) for row in rows}

    def owners(self, image_ids: Iterable[str]) -> dict[str, str]:
        """The service of each id that exists, in any service (ids are unique across the database)."""
        wanted = list(set(image_ids))
        if not wanted:
            return {}
        rows = self.session.execute(select(ExampleTable.id, ExampleTable.service_id).where(ExampleTable.id.in_(wanted)))
        return {row.id: row.service_id for row in rows}

    def calculators(self, service_id: str) -> list[tuple[str, int]]:
        rows = self.session.execute(
            select(ExampleTable.calculator, ExampleTable.dimension)
            .where(ExampleTable.service_id == service_id)
            .group_by(ExampleTable.calculator, ExampleTable.dimension)
        )
        return sorted((row.calculator, row.dimension) for row in rows)

    # --- reading a whole collection --------------------------------------------------------------------

    def counts(self, service_id: str) -> tuple[int, int, int]:
        """(subjects, examples, examples with an image)."""
        subjects = self.session.scalar(select(func.count()).where(SubjectTable.service_id == service_id))
        examples = self.session.scalar(select(func.count()).where(ExampleTable.service_id == service_id))
        images = self.session.scalar(
            select(func.count())
            .select_from(ExampleImageTable)
            .join(ExampleTable, ExampleTable.id == ExampleImageTable.example_id)
            .where(ExampleTable.service_id == service_id)
        )
        return int(subjects or 0), int(examples or 0), int(images or 0)

    def subject_names(self, service_id: str) -> Iterator[str]:
        statement = (
            select(SubjectTable.name).where(SubjectTable.service_id == service_id).order_by(SubjectTable.id)
        ).execution_options(yield_per=4096)
        yield from self.session.scalars(statement)

    def examples(self, service_id: str, with_images: bool) -> Iterator[StoredExampleRow]:
        image = ExampleImageTable.content if with_images else None
        columns = [
            ExampleTable.id,
            SubjectTable.name,
            ExampleTable.embedding,
            ExampleTable.calculator,
            ExampleTable.content_sha256,
            ExampleTable.created_at,
        ]
        statement = select(*columns, *([image] if image is not None else [])).join(
            SubjectTable, SubjectTable.id == ExampleTable.subject_id
        )
        if with_images:
            statement = statement.outerjoin(ExampleImageTable, ExampleImageTable.example_id == ExampleTable.id)
        statement = (
            statement.where(ExampleTable.service_id == service_id)
            .order_by(ExampleTable.id)
            .execution_options(yield_per=_STREAM_PARTITION)
        )
        for row in self.session.execute(statement):
            yield StoredExampleRow(
                row.id,
                row.name,
                row.embedding,
                row.calculator,
                row.content_sha256,
                row.created_at,
                row.content if with_images else None,
            )
