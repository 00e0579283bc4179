"""Every SQL statement Facekeeper runs. Repositories take a session so a use case can put several
of them in one transaction; they return domain values, never ORM rows."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, Text, bindparam, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from facekeeper.domain import Example, ServiceRecord, ServiceType, new_id
from facekeeper.storage.tables import ExampleImageTable, ExampleTable, ServiceTable, SubjectTable

_SERVICE_COLUMNS = (
    ServiceTable.id,
    ServiceTable.name,
    ServiceTable.type,
    ServiceTable.api_key,
    ServiceTable.revision,
    ServiceTable.embedder,
)


@functools.cache
def _service_by_key() -> Select[str, str, str, str, int, str]:
    """Built once: constructing the statement costs more than running it on SQLite, on every request."""
    return select(*_SERVICE_COLUMNS).where(ServiceTable.api_key == bindparam("api_key"))


def _service_record(row: Any) -> ServiceRecord:
    return ServiceRecord(row.id, row.name, ServiceType(row.type), row.api_key, row.revision, row.embedder)


def service_by_api_key(executor: Session | Connection, api_key: str) -> ServiceRecord | None:
    """The per-request key check; works on a plain Connection, the cheapest way to read one row."""
    row = executor.execute(_service_by_key(), {"api_key": api_key}).first()
    return _service_record(row) if row else None


class ServiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        name: str,
        service_type: ServiceType,
        api_key: str,
        application_id: str | None = None,
        embedder: str = "sface",
    ) -> ServiceRecord:
        row = ServiceTable(
            id=new_id(),
            name=name,
            name_folded=name.casefold(),
            type=service_type.value,
            api_key=api_key,
            revision=0,
            application_id=application_id,
            embedder=embedder,
        )
        self.session.add(row)
        self.session.flush()
        return _service_record(row)

    def by_api_key(self, api_key: str) -> ServiceRecord | None:
        return service_by_api_key(self.session, api_key)

    def by_name(self, name: str) -> ServiceRecord | None:
        row = self.session.scalar(select(ServiceTable).where(ServiceTable.name_folded == name.casefold()))
        return _service_record(row) if row else None

    def all(self) -> list[ServiceRecord]:
        rows = self.session.scalars(select(ServiceTable).order_by(ServiceTable.id))
        return [_service_record(row) for row in rows]

    def delete(self, service_id: str) -> None:
        self.session.execute(delete(ServiceTable).where(ServiceTable.id == service_id))

    def set_api_key(self, service_id: str, api_key: str) -> None:
        self.session.execute(update(ServiceTable).where(ServiceTable.id == service_id).values(api_key=api_key))

    def embedder(self, service_id: str) -> str | None:
        return self.session.scalar(select(ServiceTable.embedder).where(ServiceTable.id == service_id))

    def set_embedder(self, service_id: str, embedder: str) -> None:
        self.session.execute(update(ServiceTable).where(ServiceTable.id == service_id).values(embedder=embedder))

    def embedders(self, service_type: ServiceType = ServiceType.RECOGNITION) -> set[str]:
        """Every embedder some service of this type is built with (consistence/status)."""
        rows = self.session.scalars(
            select(ServiceTable.embedder).where(ServiceTable.type == service_type.value).distinct()
        )
        return set(rows)

    def bump_revision(self, service_id: str) -> int:
        """Mark the collection changed; also takes the row lock that serialises writers on PostgreSQL."""
        return self.session.execute(
            update(ServiceTable)
            .where(ServiceTable.id == service_id)
            .values(revision=ServiceTable.revision + 1)
            .returning(ServiceTable.revision)
        ).scalar_one()

    def collection_heads(self) -> list[tuple[str, str, int, int]]:
        """(id, name, example count, revision) of every recognition service: one indexed read."""
        rows = self.session.execute(
            select(ServiceTable.id, ServiceTable.name, ServiceTable.example_count, ServiceTable.revision).where(
                ServiceTable.type == ServiceType.RECOGNITION.value
            )
        )
        return [(row.id, row.name, row.example_count, row.revision) for row in rows]

    def example_count(self, service_id: str) -> int:
        return self.session.scalar(select(ServiceTable.example_count).where(ServiceTable.id == service_id)) or 0

    def revision(self, service_id: str) -> int:
        return self.session.scalar(select(ServiceTable.revision).where(ServiceTable.id == service_id)) or 0


# Bound parameters per statement: PostgreSQL refuses more than 65,535, SQLite's limit may be 32,766.
MAX_IDS_PER_STATEMENT = 1_000


def chunks(ids: list[str]) -> Iterator[list[str]]:
    """Id lists of any length as statements of at most MAX_IDS_PER_STATEMENT parameters each."""
    for start in range(0, len(ids), MAX_IDS_PER_STATEMENT):
        yield ids[start : start + MAX_IDS_PER_STATEMENT]


_SUBJECTS_WRITTEN = "facekeeper.subjects_written"


def mark_subjects_written(session: Session) -> None:
    """Note that this transaction inserted, renamed or deleted subject rows. Every statement that does
    calls this, so a collection write can log a change even when no example moved (see SUBJECTS_ONLY)."""
    session.info[_SUBJECTS_WRITTEN] = True


def subjects_written(session: Session) -> bool:
    return bool(session.info.get(_SUBJECTS_WRITTEN))


@dataclass(frozen=True)
class SubjectRecord:
    id: str
    name: str


class SubjectRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, service_id: str, name: str) -> SubjectRecord | None:
        """Case-insensitive lookup (D6)."""
        row = self.session.execute(
            select(SubjectTable.id, SubjectTable.name).where(
                SubjectTable.service_id == service_id, SubjectTable.name_folded == name.casefold()
            )
        ).first()
        return SubjectRecord(row.id, row.name) if row else None

    def add(self, service_id: str, name: str) -> SubjectRecord:
        record = SubjectRecord(new_id(), name)
        self.session.add(SubjectTable(id=record.id, service_id=service_id, name=name, name_folded=name.casefold()))
        self.session.flush()
        mark_subjects_written(self.session)
        return record

    def names(self, service_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(SubjectTable.name).where(SubjectTable.service_id == service_id).order_by(SubjectTable.id)
            )
        )

    def names_json(self, service_id: str) -> str:
        """`names` as one compact JSON array, built by the database: at 200,000 subjects, making a Python
        row of each and encoding the list took longer than the database's own walk of the index."""
        mine = SubjectTable.service_id == service_id
        if self.session.get_bind().dialect.name == "postgresql":
            array = func.array_to_json(func.array_agg(aggregate_order_by(SubjectTable.name, SubjectTable.id)))
            statement = select(func.coalesce(cast(array, Text), "[]")).where(mine)
        else:
            # SQLite (3.40) has no ORDER BY inside an aggregate; it never flattens an ordered subquery into an
            # aggregate query, so the rows reach json_group_array in the subquery's order.
            ordered = select(SubjectTable.name).where(mine).order_by(SubjectTable.id).subquery()
            statement = select(func.json_group_array(ordered.c.name))
        return self.session.scalar(statement) or "[]"

    def page(self, service_id: str, search: str, page: int, size: int) -> tuple[list[tuple[str, int]], int]:
        """(name, example count) of the subjects whose name contains `search` (ignoring case), in name
        order, and how many match; the counts come from the subject index, for this page's rows only."""
        conditions = [SubjectTable.service_id == service_id]
        if search:
            conditions.append(SubjectTable.name_folded.contains(search.casefold(), autoescape=True))
        total = self.session.scalar(select(func.count()).select_from(SubjectTable).where(*conditions))
        examples = (
            select(func.count()).select_from(ExampleTable).where(ExampleTable.subject_id == SubjectTable.id)
        ).scalar_subquery()
        rows = self.session.execute(
            select(SubjectTable.name, examples)
            .where(*conditions)
            .order_by(SubjectTable.name_folded, SubjectTable.id)
            .offset(page * size)
            .limit(size)
        )
        return [(row[0], int(row[1])) for row in rows], int(total or 0)

    def rename(self, subject_id: str, name: str) -> None:
        self.session.execute(
            update(SubjectTable).where(SubjectTable.id == subject_id).values(name=name, name_folded=name.casefold())
        )
        mark_subjects_written(self.session)

    def delete(self, subject_id: str) -> None:
        self.session.execute(delete(SubjectTable).where(SubjectTable.id == subject_id))
        mark_subjects_written(self.session)

    def delete_all(self, service_id: str) -> int:
        result = self.session.execute(delete(SubjectTable).where(SubjectTable.service_id == service_id))
        deleted = int(result.rowcount)  # type: ignore[attr-defined]
        if deleted:
            mark_subjects_written(self.session)
        return deleted


class ExampleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, service_id: str, subject_id: str, embedding: np.ndarray, calculator: str, image: bytes | None) -> str:
        vector = np.ascontiguousarray(embedding, dtype=np.float32)
        example_id = new_id()
        self.session.add(
            ExampleTable(
                id=example_id,
                service_id=service_id,
                subject_id=subject_id,
                embedding=vector.tobytes(),
                dimension=int(vector.shape[0]),
                calculator=calculator,
            )
        )
        if image is not None:
            # Flush the parent first: the unit of work does not order rows of unrelated mappers.
            self.session.flush()
            self.session.add(ExampleImageTable(example_id=example_id, content=image))
        self.session.flush()
        return example_id

    def _joined(self) -> Select[str, str]:
        return select(ExampleTable.id, SubjectTable.name).join(SubjectTable, SubjectTable.id == ExampleTable.subject_id)

    def get(self, service_id: str, image_id: str) -> Example | None:
        row = self.session.execute(
            self._joined().where(ExampleTable.service_id == service_id, ExampleTable.id == image_id)
        ).first()
        return Example(row.id, row.name) if row else None

    def embedding(self, service_id: str, image_id: str) -> tuple[Example, np.ndarray, str] | None:
        """The example, its vector and the calculator that made it."""
        row = self.session.execute(
            select(ExampleTable.id, SubjectTable.name, ExampleTable.embedding, ExampleTable.calculator)
            .join(SubjectTable, SubjectTable.id == ExampleTable.subject_id)
            .where(ExampleTable.service_id == service_id, ExampleTable.id == image_id)
        ).first()
        if row is None:
            return None
        return Example(row.id, row.name), np.frombuffer(row.embedding, dtype=np.float32), row.calculator

    def page(self, service_id: str, subject: str | None, page: int, size: int) -> tuple[list[Example], int]:
        """One page in id order, and the total, without ever counting or joining the whole collection:
        a service's total is `service.example_count` (kept by the change log), a subject's is counted on
        its own index entries. The page's ids come from an index alone (OFFSET walks index entries, not
        rows); names are joined for those rows only."""
        if subject is None:
            total = self.session.scalar(select(ServiceTable.example_count).where(ServiceTable.id == service_id))
            where = ExampleTable.service_id == service_id
        else:
            found = SubjectRepository(self.session).find(service_id, subject)
            if found is None:
                return [], 0
            total = self.count_of_subject(found.id)
            where = ExampleTable.subject_id == found.id
        page_ids = select(ExampleTable.id).where(where).order_by(ExampleTable.id).offset(page * size).limit(size)
        rows = self.session.execute(
            self._joined().where(ExampleTable.id.in_(page_ids.scalar_subquery())).order_by(ExampleTable.id)
        )
        return [Example(row.id, row.name) for row in rows], max(int(total or 0), 0)

    def count_of_subject(self, subject_id: str) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(ExampleTable).where(ExampleTable.subject_id == subject_id)
            )
            or 0
        )

    def delete_all(self, service_id: str) -> int:
        """Every example of the service (its subjects stay)."""
        result = self.session.execute(delete(ExampleTable).where(ExampleTable.service_id == service_id))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def existing(self, service_id: str, image_ids: list[str]) -> list[Example]:
        found: list[Example] = []
        for chunk in chunks(image_ids):
            rows = self.session.execute(
                self._joined().where(ExampleTable.service_id == service_id, ExampleTable.id.in_(chunk))
            )
            found += [Example(row.id, row.name) for row in rows]
        return found

    def delete(self, service_id: str, image_ids: list[str]) -> None:
        for chunk in chunks(image_ids):
            self.session.execute(
                delete(ExampleTable).where(ExampleTable.service_id == service_id, ExampleTable.id.in_(chunk))
            )

    def move(self, from_subject_id: str, to_subject_id: str) -> None:
        self.session.execute(
            update(ExampleTable).where(ExampleTable.subject_id == from_subject_id).values(subject_id=to_subject_id)
        )

    def image(self, service_id: str, image_id: str) -> bytes | None:
        return self.session.scalar(
            select(ExampleImageTable.content)
            .join(ExampleTable, ExampleTable.id == ExampleImageTable.example_id)
            .where(ExampleTable.service_id == service_id, ExampleTable.id == image_id)
        )

    def image_by_api_key(self, api_key: str, image_id: str) -> bytes | None:
        return self.session.scalar(
            select(ExampleImageTable.content)
            .join(ExampleTable, ExampleTable.id == ExampleImageTable.example_id)
            .join(ServiceTable, ServiceTable.id == ExampleTable.service_id)
            .where(ServiceTable.api_key == api_key, ExampleTable.id == image_id)
        )

    def has_other_calculator(self, calculator: str) -> bool:
        """Two probes of `ix_example_calculator` (below and above the name): `!=` would scan every row."""
        for other in (ExampleTable.calculator < calculator, ExampleTable.calculator > calculator):
            if self.session.scalar(select(ExampleTable.id).where(other).limit(1)) is not None:
                return True
        return False
