"""Migration 0004 (the admin side) on a populated 0003 database, each backend: upgrade puts every service
in a "Default" application and loses nothing; downgrade removes the admin tables and loses nothing else."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import inspect, text

from facekeeper.domain import Role, ServiceType
from facekeeper.services.accounts import AccountService
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.passwords import Passwords
from facekeeper.storage.db import Database
from tests.storage.migrating import migrate

ADMIN_TABLES = {"account", "application", "membership", "admin_session", "setup_code", "service_usage"}


def _populate_0003(db: Database) -> dict[str, str]:
    """Two services with subjects, examples, images and change-log rows, written as the code at 0003 did."""
    keys = {}
    with db.engine.begin() as connection:
        for name, service_type in (("faces", "R"), ("boxes", "D")):
            service_id, key = str(uuid.uuid4()), str(uuid.uuid4())
            keys[name] = key
            connection.execute(
                text(
                    "INSERT INTO service (id, name, name_folded, type, api_key, revision, example_count, created_at)"
                    " VALUES (:id, :name, :name, :type, :key, 2, :count, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": service_id,
                    "name": name,
                    "type": service_type,
                    "key": key,
                    "count": 2 if name == "faces" else 0,
                },
            )
            if name != "faces":
                continue
            subject_id = str(uuid.uuid4())
            connection.execute(
                text(
                    "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                    "VALUES (:id, :service, 'Ada', 'ada', CURRENT_TIMESTAMP)"
                ),
                {"id": subject_id, "service": service_id},
            )
            for n in range(2):
                example_id = str(uuid.uuid4())
                connection.execute(
                    text(
                        "INSERT INTO example (id, service_id, subject_id, embedding, dimension, calculator, "
                        "content_sha256, created_at) VALUES (:id, :service, :subject, :embedding, 4, 'calc@1', "
                        "NULL, CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": example_id,
                        "service": service_id,
                        "subject": subject_id,
                        "embedding": np.full(4, n, dtype=np.float32).tobytes(),
                    },
                )
                connection.execute(
                    text("INSERT INTO example_image (example_id, content) VALUES (:id, :content)"),
                    {"id": example_id, "content": b"image %d" % n},
                )
            connection.execute(
                text(
                    "INSERT INTO collection_change (service_id, seq, kind, payload, created_at) "
                    "VALUES (:service, 2, 'reset', '{}', CURRENT_TIMESTAMP)"
                ),
                {"service": service_id},
            )
    return keys


def _collection_rows(db: Database) -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT s.name, s.api_key, s.revision, s.example_count, p.name, e.embedding, i.content "
                    "FROM service s LEFT JOIN subject p ON p.service_id = s.id "
                    "LEFT JOIN example e ON e.subject_id = p.id LEFT JOIN example_image i ON i.example_id = e.id "
                    "ORDER BY s.name, e.embedding"
                )
            )
        ]


def test_0004_upgrade_and_downgrade_on_a_populated_database(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate(db, "0003")
        keys = _populate_0003(db)
        before = _collection_rows(db)
        assert len(before) == 3

        migrate(db, "0004")
        assert _collection_rows(db) == before
        assert set(inspect(db.engine).get_table_names()) >= ADMIN_TABLES
        with db.engine.connect() as connection:
            applications = connection.execute(text("SELECT id, name FROM application")).all()
            placed = connection.execute(text("SELECT DISTINCT application_id FROM service")).scalars().all()
            changes = connection.execute(text("SELECT count(*) FROM collection_change")).scalar_one()
        assert [name for _, name in applications] == ["Default"]
        assert placed == [applications[0][0]]  # every service, and in the Default application
        assert changes == 1
        # the code (at the head: later revisions touch `service` too) uses the migrated rows: keys work, the
        # CLI adds to Default
        db.upgrade()
        keys_service = ApiKeyService(db)
        assert keys_service.authenticate(keys["faces"], ServiceType.RECOGNITION).name == "faces"
        keys_service.create("later", ServiceType.VERIFICATION)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM application")).scalar_one() == 1
        AccountService(db, Passwords(8, 1)).create("owner@example.com", "password 1", Role.OWNER)

        migrate(db, "0003", down=True)
        assert not ADMIN_TABLES & set(inspect(db.engine).get_table_names())
        assert "application_id" not in {c["name"] for c in inspect(db.engine).get_columns("service")}
        after = [row for row in _collection_rows(db) if row[0] != "later"]
        assert after == before
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM collection_change")).scalar_one() == 1

        db.upgrade()  # and up again, to the head: the same rows, all in a new Default application
        assert [row for row in _collection_rows(db) if row[0] != "later"] == before
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM service WHERE application_id IS NULL")).scalar() == 0
    finally:
        db.dispose()


def test_0004_on_an_empty_database_makes_no_default_application(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM application")).scalar_one() == 0
    finally:
        db.dispose()
