"""Listing and deleting at size: every statement behind `GET /faces` (page 0, `?subject=`, a deep page),
`GET /subjects`, `consistence/status` and deleting a subject reads through an index, never a scan of the
example table. Checked on SQLite's query plans (EXPLAIN QUERY PLAN), which do not depend on timing: a
statement that scans all examples is the one that takes a second at a million.

A small collection is enough, after `Database.optimize()` (as a bulk import leaves it): SQLite plans from
its schema and statistics, not from the table's size.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.index.changes import Reset, encode
from facekeeper.storage.bulk import BulkRepository, NewExampleRow
from facekeeper.storage.change_log import ChangeLogRepository
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository

SUBJECTS = 40
PER_SUBJECT = 25


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Database, ServiceRecord]]:
    db = Database(f"sqlite:///{tmp_path}/plans.db")
    db.upgrade()
    with db.transaction(write=True) as session:
        service = ServiceRepository(session).add("big", ServiceType.RECOGNITION, str(uuid.uuid4()))
        other = ServiceRepository(session).add("other", ServiceType.RECOGNITION, str(uuid.uuid4()))
        for target in (service, other):
            bulk = BulkRepository(session)
            names = [f"person {i}" for i in range(SUBJECTS)]
            subjects = bulk.add_subjects(target.id, names)
            vectors = np.random.default_rng(1).normal(size=(SUBJECTS * PER_SUBJECT, 8)).astype(np.float32)
            rows = [
                NewExampleRow(subjects[names[i % SUBJECTS].casefold()].id, vector, "calc@1", b"jpeg")
                for i, vector in enumerate(vectors)
            ]
            bulk.add_examples(target.id, rows)
            ChangeLogRepository(session).append(target.id, *encode(Reset()), examples_delta=None)
    db.optimize()
    yield db, service
    db.dispose()


def plans_of(db: Database, work: Callable[[], object]) -> list[tuple[str, list[str]]]:
    """(statement, its query plan lines) of every SELECT or DELETE `work` runs."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "DELETE")):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    plans = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append((statement, [row[-1] for row in rows]))
    return plans


def assert_no_example_scan(plans: list[tuple[str, list[str]]]) -> None:
    """`SCAN example` (with or without a covering index) reads every example of every service."""
    assert plans, "no statement ran"
    for statement, plan in plans:
        scans = [line for line in plan if line.startswith("SCAN") and ("example" in line or "subject" in line)]
        assert not scans, f"{statement}\n  plans a scan: {plan}"


def test_pages_read_through_indexes(seeded: tuple[Database, ServiceRecord]) -> None:
    db, service = seeded

    def work() -> None:
        with db.transaction() as session:
            examples = ExampleRepository(session)
            first, total = examples.page(service.id, None, 0, 20)
            assert total == SUBJECTS * PER_SUBJECT and len(first) == 20
            deep, _ = examples.page(service.id, None, 30, 20)
            assert len(deep) == 20 and deep[0].image_id > first[-1].image_id
            theirs, total = examples.page(service.id, "PERSON 3", 0, 20)
            assert total == PER_SUBJECT and len(theirs) == 20 and {e.subject for e in theirs} == {"person 3"}

    assert_no_example_scan(plans_of(db, work))


def test_status_flag_never_scans_the_examples(seeded: tuple[Database, ServiceRecord]) -> None:
    db, _ = seeded

    def work() -> None:
        with db.transaction() as session:
            examples = ExampleRepository(session)
            assert examples.has_other_calculator("calc@1") is False
            assert examples.has_other_calculator("calc@0") is True
            assert examples.has_other_calculator("calc@2") is True

    assert_no_example_scan(plans_of(db, work))


def test_deleting_a_subject_reads_through_indexes(seeded: tuple[Database, ServiceRecord]) -> None:
    db, service = seeded

    def work() -> None:
        with db.transaction(write=True) as session:
            subject = SubjectRepository(session).find(service.id, "person 7")
            assert subject is not None
            assert ExampleRepository(session).count_of_subject(subject.id) == PER_SUBJECT
            SubjectRepository(session).delete(subject.id)

    assert_no_example_scan(plans_of(db, work))
    with db.transaction() as session:
        assert ExampleRepository(session).page(service.id, "person 7", 0, 20) == ([], 0)


def test_listing_subjects_reads_one_service(seeded: tuple[Database, ServiceRecord]) -> None:
    db, service = seeded

    def work() -> None:
        with db.transaction() as session:
            assert len(SubjectRepository(session).names(service.id)) == SUBJECTS

    assert_no_example_scan(plans_of(db, work))


def test_the_encoded_list_of_subjects_reads_one_service_in_id_order(seeded: tuple[Database, ServiceRecord]) -> None:
    """`names_json` (GET /subjects) walks `ix_subject_service`: one service's rows, already in id order, so
    no scan and no sort feeds json_group_array."""
    db, service = seeded

    def work() -> None:
        with db.snapshot() as session:
            assert SubjectRepository(session).names_json(service.id).count('"person ') == SUBJECTS

    plans = plans_of(db, work)
    assert_no_example_scan(plans)
    assert any("ix_subject_service" in line for _, plan in plans for line in plan)
    assert not any("TEMP B-TREE" in line for _, plan in plans for line in plan)
