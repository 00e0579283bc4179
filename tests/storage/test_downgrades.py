"""Downgrading a populated store to the first revision keeps every subject, example and image, on each backend.

Pins a data loss: on SQLite a batch migration rebuilds a table by dropping it, and with foreign keys on, dropping
`service` or `example` cascades to every row that hangs off it.
"""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import text

from facekeeper.storage.db import Database
from tests.storage.migrating import migrate


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("service", "subject", "example", "example_image")
        }


def test_downgrade_to_the_first_revision_loses_nothing(database_url: str) -> None:
    db = Database(database_url)
    migrate(db, "0001")
    with db.engine.begin() as connection:  # rows written the way the code at 0001 wrote them
        service_id = str(uuid.uuid4())
        connection.execute(
            text(
                "INSERT INTO service (id, name, name_folded, type, api_key, revision, created_at) "
                "VALUES (:id, 'faces', 'faces', 'R', :key, 3, CURRENT_TIMESTAMP)"
            ),
            {"id": service_id, "key": str(uuid.uuid4())},
        )
        subject_id = str(uuid.uuid4())
        connection.execute(
            text(
                "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                "VALUES (:id, :service, 'Tom', 'tom', CURRENT_TIMESTAMP)"
            ),
            {"id": subject_id, "service": service_id},
        )
        for _ in range(3):
            example_id = str(uuid.uuid4())
            connection.execute(
                text(
                    "INSERT INTO example (id, service_id, subject_id, embedding, dimension, calculator, "
                    "created_at) VALUES (:id, :service, :subject, :embedding, 4, 'calc@1', CURRENT_TIMESTAMP)"
                ),
                {
                    "id": example_id,
                    "service": service_id,
                    "subject": subject_id,
                    "embedding": np.ones(4, dtype=np.float32).tobytes(),
                },
            )
            connection.execute(
                text("INSERT INTO example_image (example_id, content) VALUES (:id, :content)"),
                {"id": example_id, "content": b"jpeg"},
            )
    before = _counts(db)
    assert before == {"service": 1, "subject": 1, "example": 3, "example_image": 3}
    db.upgrade()
    assert _counts(db) == before
    migrate(db, "0001", down=True)
    assert _counts(db) == before
    db.upgrade()  # and the chain goes up again over the same rows
    assert _counts(db) == before
    db.engine.dispose()
