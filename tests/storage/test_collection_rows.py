"""What a collection load reads, on each backend: every indexed row with its subject, in batches, and the
vectors of added examples for a replay."""

from __future__ import annotations

import uuid

import numpy as np

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.storage.collection_rows import CollectionRows
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository


def make_service(db: Database, name: str = "rec") -> ServiceRecord:
    with db.transaction() as session:
        return ServiceRepository(session).add(name, ServiceType.RECOGNITION, str(uuid.uuid4()))


def add_examples(db: Database, service: ServiceRecord, names: list[str], vectors: np.ndarray) -> list[str]:
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        ids = []
        for name, vector in zip(names, vectors, strict=True):
            stored = subjects.find(service.id, name) or subjects.add(service.id, name)
            ids.append(ExampleRepository(session).add(service.id, stored.id, vector, "calc@1", None))
        return ids


def test_stream_reads_every_row_of_the_service_in_batches(database: Database) -> None:
    service, other = make_service(database), make_service(database, "other")
    vectors = np.random.default_rng(5).normal(size=(12, 4)).astype(np.float32)
    names = ["Tom", "Ann", "Tom", "Bob"] * 3
    ids = add_examples(database, service, names, vectors)
    add_examples(database, other, ["Tom"], np.ones((1, 4), dtype=np.float32))
    with database.snapshot() as session:
        rows = CollectionRows(session)
        assert rows.count(service.id) == 12
        subject_names = rows.subject_names(service.id)
        batches = list(rows.stream(service.id, 5))
    assert [len(batch.image_ids) for batch in batches] == [5, 5, 2]
    streamed = {
        image_id: (subject_names[subject_id], np.frombuffer(embedding, dtype=np.float32))
        for batch in batches
        for image_id, subject_id, embedding in zip(batch.image_ids, batch.subject_ids, batch.embeddings, strict=True)
    }
    assert set(streamed) == set(ids)
    for image_id, name, vector in zip(ids, names, vectors, strict=True):
        assert streamed[image_id][0] == name
        np.testing.assert_array_equal(streamed[image_id][1], vector)


def test_stream_of_an_empty_collection(database: Database) -> None:
    service = make_service(database)
    with database.snapshot() as session:
        assert list(CollectionRows(session).stream(service.id, 10)) == []
        assert CollectionRows(session).count(service.id) == 0


def test_vectors_of_added_examples_leave_out_missing_and_foreign_ids(database: Database) -> None:
    service, other = make_service(database), make_service(database, "other")
    vectors = np.eye(3, dtype=np.float32)
    ids = add_examples(database, service, ["A", "B", "C"], vectors)
    foreign = add_examples(database, other, ["A"], vectors[:1])
    with database.transaction() as session:
        found = CollectionRows(session).vectors(service.id, [ids[2], ids[0], str(uuid.uuid4()), *foreign])
    assert set(found) == {ids[0], ids[2]}
    np.testing.assert_array_equal(found[ids[2]], vectors[2])


def test_snapshot_sees_one_state_while_others_commit(database: Database) -> None:
    service = make_service(database)
    add_examples(database, service, ["A"], np.ones((1, 4), dtype=np.float32))
    with database.snapshot() as session:
        rows = CollectionRows(session)
        assert rows.count(service.id) == 1
        add_examples(database, service, ["B"], np.ones((1, 4), dtype=np.float32))  # another connection commits
        assert rows.count(service.id) == 1
        assert sum(len(batch.image_ids) for batch in rows.stream(service.id, 10)) == 1
