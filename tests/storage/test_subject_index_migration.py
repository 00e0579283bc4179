"""Migration 0006 (subjects listed from an index) upgrades a populated 0005 store and downgrades again, on
each backend, losing nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import inspect, text

from facekeeper.storage.db import Database
from facekeeper.storage.repositories import SubjectRepository
from tests.storage.migrating import migrate


def subject_indexes(db: Database) -> set[str]:
    return {index["name"] or "" for index in inspect(db.engine).get_indexes("subject")}


def test_0006_on_a_populated_0005_database_and_back(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate(db, "0005")
        service_id = str(uuid.uuid4())
        names = ["zed", "Amy", "mike"]
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO service (id, name, name_folded, type, api_key, revision, example_count, created_at) "
                    "VALUES (:id, 'old', 'old', 'R', :key, 2, 0, CURRENT_TIMESTAMP)"
                ),
                {"id": service_id, "key": str(uuid.uuid4())},
            )
            for n, name in enumerate(names):  # ids in creation order, as new_id() makes them
                connection.execute(
                    text(
                        "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                        "VALUES (:id, :service, :name, :folded, CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": f"0000000{n}-0000-0000-0000-000000000000",
                        "service": service_id,
                        "name": name,
                        "folded": name.casefold(),
                    },
                )
        db.upgrade()
        assert "ix_subject_service" in subject_indexes(db)
        with db.transaction() as session:
            assert SubjectRepository(session).names(service_id) == names
        migrate(db, "0005", down=True)
        assert "ix_subject_service" not in subject_indexes(db)
        with db.transaction() as session:
            assert SubjectRepository(session).names(service_id) == names
        db.upgrade()
        with db.transaction() as session:
            assert SubjectRepository(session).names(service_id) == names
    finally:
        db.dispose()
