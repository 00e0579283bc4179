"""The rows an index holds for a service, read fast: a full load streams them in batches straight from
the driver (no ORM rows, no per-row objects beyond the driver's tuple), and a replay fetches only the
vectors of examples the log says were added.

`_indexed` is the one place that says which examples of a service are searched together: those of the
service made by the calculator of its embedder (`calculator`; None when the caller does not know it), so
a vector from another model is never compared with the collection's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from facekeeper.storage.tables import ExampleTable, SubjectTable

FETCH_CHUNK = 500  # ids per IN (...) list


@dataclass
class RowBatch:
    image_ids: list[str]
    subject_ids: list[str]
    embeddings: list[bytes]


class CollectionRows:
    def __init__(self, session: Session, calculator: str | None = None) -> None:
        self.session = session
        self.calculator = calculator

    def _indexed(self, service_id: str) -> ColumnElement[bool]:
        condition = ExampleTable.service_id == service_id
        if self.calculator is not None:
            condition = condition & (ExampleTable.calculator == self.calculator)
        return condition

    def count(self, service_id: str) -> int:
        return int(
            self.session.scalar(select(func.count()).select_from(ExampleTable).where(self._indexed(service_id))) or 0
        )

    def subject_names(self, service_id: str) -> dict[str, str]:
        rows = self.session.execute(
            select(SubjectTable.id, SubjectTable.name).where(SubjectTable.service_id == service_id)
        )
        return {row.id: row.name for row in rows}

    def stream(self, service_id: str, batch_rows: int) -> Iterator[RowBatch]:
        """Every indexed example as (id, subject id, embedding bytes), `batch_rows` at a time, read on the
        driver's cursor (server-side on PostgreSQL, so the result is never buffered whole)."""
        statement = select(ExampleTable.id, ExampleTable.subject_id, ExampleTable.embedding).where(
            self._indexed(service_id)
        )
        connection = self.session.connection()
        compiled = statement.compile(dialect=connection.dialect)
        params: Any = compiled.construct_params()
        dbapi: Any = connection.connection.dbapi_connection  # the driver's own connection: psycopg or sqlite3
        if connection.dialect.name == "postgresql":
            cursor = dbapi.cursor(name="facekeeper_collection_load")  # server-side: streamed, never buffered whole
            cursor.itersize = batch_rows
        else:
            cursor = dbapi.cursor()
        sql = str(compiled)
        if connection.dialect.paramstyle == "qmark":
            params = [params[name] for name in compiled.positiontup or ()]
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(batch_rows):
                ids, subjects, embeddings = zip(*rows, strict=True)
                yield RowBatch(list(ids), list(subjects), list(embeddings))
        finally:
            cursor.close()

    def vectors(self, service_id: str, image_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Embeddings of the indexed examples among `image_ids`; ids no longer stored are left out."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(image_ids), FETCH_CHUNK):
            chunk = list(image_ids[start : start + FETCH_CHUNK])
            rows = self.session.execute(
                select(ExampleTable.id, ExampleTable.embedding).where(
                    self._indexed(service_id), ExampleTable.id.in_(chunk)
                )
            )
            found.update((row.id, np.frombuffer(row.embedding, dtype=np.float32)) for row in rows)
        return found
