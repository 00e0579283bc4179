"""Statements of `facekeeper migrate`: re-embeddings wait in `pending_embedding` until the switch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from facekeeper.storage.repositories import chunks
from facekeeper.storage.tables import ExampleImageTable, ExampleTable, PendingEmbeddingTable, SubjectTable


@dataclass(frozen=True)
class ExampleToEmbed:
    image_id: str
    subject: str


@dataclass(frozen=True)
class PendingRow:
    image_id: str
    vector: np.ndarray  # L2-normalised float32
    calculator: str


class PendingEmbeddings:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _has_pending(self, service_id: str, embedder: str) -> object:
        return exists().where(
            PendingEmbeddingTable.example_id == ExampleTable.id,
            PendingEmbeddingTable.service_id == service_id,
            PendingEmbeddingTable.embedder == embedder,
        )

    def examples_without_image(self, service_id: str) -> int:
        has_image = exists().where(ExampleImageTable.example_id == ExampleTable.id)
        statement = (
            select(func.count()).select_from(ExampleTable).where(ExampleTable.service_id == service_id, ~has_image)
        )
        return int(self.session.scalar(statement) or 0)

    def drop_other_targets(self, service_id: str, embedder: str) -> int:
        """A run towards another embedder was left unfinished: its rows are of no use to this one."""
        result = self.session.execute(
            delete(PendingEmbeddingTable).where(
                PendingEmbeddingTable.service_id == service_id, PendingEmbeddingTable.embedder != embedder
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def targets(self, service_id: str) -> list[tuple[str, int]]:
        """(embedder, rows) of every unfinished run of the service."""
        rows = self.session.execute(
            select(PendingEmbeddingTable.embedder, func.count())
            .where(PendingEmbeddingTable.service_id == service_id)
            .group_by(PendingEmbeddingTable.embedder)
        )
        return [(row[0], int(row[1])) for row in rows]

    def done(self, service_id: str, embedder: str) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(PendingEmbeddingTable)
                .where(PendingEmbeddingTable.service_id == service_id, PendingEmbeddingTable.embedder == embedder)
            )
            or 0
        )

    def todo(self, service_id: str, embedder: str, limit: int, after: str = "") -> list[ExampleToEmbed]:
        """Examples with no new embedding yet, in id order, after `after`."""
        rows = self.session.execute(
            select(ExampleTable.id, SubjectTable.name)
            .join(SubjectTable, SubjectTable.id == ExampleTable.subject_id)
            .where(
                ExampleTable.service_id == service_id,
                ExampleTable.id > after,
                ~self._has_pending(service_id, embedder),  # type: ignore[operator]
            )
            .order_by(ExampleTable.id)
            .limit(limit)
        )
        return [ExampleToEmbed(row.id, row.name) for row in rows]

    def remaining(self, service_id: str, embedder: str) -> int:
        statement = (
            select(func.count())
            .select_from(ExampleTable)
            .where(ExampleTable.service_id == service_id, ~self._has_pending(service_id, embedder))  # type: ignore[operator]
        )
        return int(self.session.scalar(statement) or 0)

    def image(self, image_id: str) -> bytes | None:
        return self.session.scalar(select(ExampleImageTable.content).where(ExampleImageTable.example_id == image_id))

    def add(self, service_id: str, embedder: str, rows: Sequence[PendingRow]) -> None:
        """Rows of examples deleted meanwhile are dropped; a row already there (another run) is replaced."""
        ids = [row.image_id for row in rows]
        alive: set[str] = set()
        for chunk in chunks(ids):
            self.session.execute(delete(PendingEmbeddingTable).where(PendingEmbeddingTable.example_id.in_(chunk)))
            alive.update(
                self.session.scalars(
                    select(ExampleTable.id).where(ExampleTable.service_id == service_id, ExampleTable.id.in_(chunk))
                )
            )
        values = [
            {
                "example_id": row.image_id,
                "service_id": service_id,
                "embedder": embedder,
                "calculator": row.calculator,
                "dimension": int(row.vector.shape[0]),
                "embedding": np.ascontiguousarray(row.vector, dtype=np.float32).tobytes(),
            }
            for row in rows
            if row.image_id in alive
        ]
        if values:
            self.session.execute(insert(PendingEmbeddingTable), values)

    def apply(self, service_id: str, embedder: str) -> int:
        """Copy every pending row over its example (one statement), then drop the rows."""
        source = PendingEmbeddingTable

        def pending_value(column: Any) -> Any:
            return (
                select(column)
                .where(source.example_id == ExampleTable.id, source.embedder == embedder)
                .scalar_subquery()
            )

        result = self.session.execute(
            update(ExampleTable)
            .where(ExampleTable.service_id == service_id, self._has_pending(service_id, embedder))  # type: ignore[arg-type]
            .values(
                embedding=pending_value(source.embedding),
                dimension=pending_value(source.dimension),
                calculator=pending_value(source.calculator),
            )
            .execution_options(synchronize_session=False)
        )
        self.session.execute(delete(PendingEmbeddingTable).where(PendingEmbeddingTable.service_id == service_id))
        return int(result.rowcount)  # type: ignore[attr-defined]
