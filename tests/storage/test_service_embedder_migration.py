"""Migration 0005 (collections own their embedder) on populated databases made at 0004: every service
becomes `sface`, nothing else changes; downgrade and upgrade again keep every row. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import inspect, text

from facekeeper.domain import ServiceType
from facekeeper.storage.collection_rows import CollectionRows
from facekeeper.storage.db import Database
from facekeeper.storage.pending import PendingEmbeddings, PendingRow
from facekeeper.storage.repositories import ServiceRepository
from tests.storage.migrating import migrate

SFACE = "sface.Calculator@2021dec_int8bq"


def populate_at_0004(db: Database) -> dict[str, list[str]]:
    """Rows as the code at 0004 wrote them: two recognition services, a detection one, examples, images,
    change-log entries."""
    ids: dict[str, list[str]] = {}
    with db.engine.begin() as connection:
        for name, kind, examples in (("people", "R", 3), ("empty", "R", 0), ("det", "D", 0)):
            service_id = str(uuid.uuid4())
            connection.execute(
                text(
                    "INSERT INTO service (id, name, name_folded, type, api_key, revision, example_count, created_at)"
                    " VALUES (:id, :name, :name, :type, :key, :examples, :examples, CURRENT_TIMESTAMP)"
                ),
                {"id": service_id, "name": name, "type": kind, "key": str(uuid.uuid4()), "examples": examples},
            )
            subject_id = str(uuid.uuid4())
            connection.execute(
                text(
                    "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                    "VALUES (:id, :service, 'Ada', 'ada', CURRENT_TIMESTAMP)"
                ),
                {"id": subject_id, "service": service_id},
            )
            ids[name] = []
            for n in range(examples):
                example_id = str(uuid.uuid4())
                connection.execute(
                    text(
                        "INSERT INTO example (id, service_id, subject_id, embedding, dimension, calculator, "
                        "content_sha256, created_at) VALUES (:id, :service, :subject, :embedding, 4, :calc, :sha, "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": example_id,
                        "service": service_id,
                        "subject": subject_id,
                        "embedding": np.full(4, n + 1, dtype=np.float32).tobytes(),
                        "calc": SFACE,
                        "sha": f"{n:064d}",
                    },
                )
                connection.execute(
                    text("INSERT INTO example_image (example_id, content) VALUES (:id, :content)"),
                    {"id": example_id, "content": b"jpeg%d" % n},
                )
                connection.execute(
                    text(
                        "INSERT INTO collection_change (service_id, seq, kind, payload, created_at) "
                        "VALUES (:service, :seq, 'added', :payload, CURRENT_TIMESTAMP)"
                    ),
                    {"service": service_id, "seq": n + 1, "payload": f'{{"image_id":"{example_id}","subject":"Ada"}}'},
                )
                ids[name].append(example_id)
    return ids


def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row the earlier schema knows, bytes as bytes, in a stable order."""
    queries = {
        "service": "SELECT id, name, type, api_key, revision, example_count FROM service ORDER BY id",
        "subject": "SELECT id, service_id, name FROM subject ORDER BY id",
        "example": "SELECT id, subject_id, embedding, dimension, calculator, content_sha256 FROM example ORDER BY id",
        "example_image": "SELECT example_id, content FROM example_image ORDER BY example_id",
        "collection_change": "SELECT service_id, seq, kind, payload FROM collection_change ORDER BY service_id, seq",
    }
    with db.engine.connect() as connection:
        return {
            table: [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in connection.execute(text(sql))
            ]
            for table, sql in queries.items()
        }


def test_0005_makes_every_existing_service_sface_and_loses_nothing(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate(db, "0004")
        ids = populate_at_0004(db)
        before = snapshot(db)
        db.upgrade()
        assert snapshot(db) == before
        with db.transaction() as session:
            services = {s.name: s for s in ServiceRepository(session).all()}
            assert {name: s.embedder for name, s in services.items()} == {
                "people": "sface",
                "empty": "sface",
                "det": "sface",
            }
            rows = CollectionRows(session, SFACE)
            assert rows.count(services["people"].id) == 3
            assert sorted(rows.vectors(services["people"].id, ids["people"])) == sorted(ids["people"])
            assert CollectionRows(session, "dlib.Calculator@resnet_v1").count(services["people"].id) == 0
        assert "pending_embedding" in inspect(db.engine).get_table_names()
        with db.transaction() as session:  # the upgraded store takes the new rows
            people = services["people"]
            PendingEmbeddings(session).add(
                people.id, "dlib", [PendingRow(ids["people"][0], np.ones(128, np.float32), "dlib@1")]
            )
            ServiceRepository(session).add("new", ServiceType.RECOGNITION, str(uuid.uuid4()), embedder="dlib")
        with db.transaction() as session:
            assert PendingEmbeddings(session).targets(people.id) == [("dlib", 1)]
            assert ServiceRepository(session).by_name("new").embedder == "dlib"  # type: ignore[union-attr]
    finally:
        db.dispose()


def test_0005_downgrades_to_0004_keeping_every_row_and_upgrades_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate(db, "0004")
        populate_at_0004(db)
        before = snapshot(db)
        db.upgrade()
        with db.transaction() as session:
            people = ServiceRepository(session).by_name("people")
            assert people is not None
            ServiceRepository(session).set_embedder(people.id, "dlib")  # then the downgrade forgets it
            first = session.execute(text("SELECT id FROM example ORDER BY id")).scalars().first()
            PendingEmbeddings(session).add(
                people.id, "sface-flip", [PendingRow(str(first), np.ones(4, np.float32), "x")]
            )
        migrate(db, "0004", down=True)
        assert snapshot(db) == before
        tables = inspect(db.engine).get_table_names()
        assert "pending_embedding" not in tables
        assert "embedder" not in {column["name"] for column in inspect(db.engine).get_columns("service")}
        db.upgrade()
        assert snapshot(db) == before
        with db.transaction() as session:
            assert {s.embedder for s in ServiceRepository(session).all()} == {"sface"}
    finally:
        db.dispose()
