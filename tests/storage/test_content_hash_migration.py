"""Migration 0002 (examples' content hash) upgrades a populated store in place on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from facekeeper.storage.db import Database
from tests.storage.migrating import migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_examples_made_at_0001_survive_and_get_no_hash(url: str) -> None:
    db = Database(url)
    try:
        migrate(db, "0001")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO service (id, name, name_folded, type, api_key, revision, created_at) "
                    "VALUES ('s1', 'old', 'old', 'R', '00000000-0000-4000-8000-000000000001', 3, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                    "VALUES ('p1', 's1', 'Ada', 'ada', CURRENT_TIMESTAMP)"
                )
            )
            for n in range(3):
                connection.execute(
                    text(
                        "INSERT INTO example (id, service_id, subject_id, embedding, dimension, calculator, created_at)"
                        " VALUES (:id, 's1', 'p1', :embedding, 2, 'calc@1', CURRENT_TIMESTAMP)"
                    ),
                    {"id": f"e{n}", "embedding": bytes([n]) * 8},
                )
                connection.execute(
                    text("INSERT INTO example_image (example_id, content) VALUES (:id, :content)"),
                    {"id": f"e{n}", "content": b"jpeg" * n or b"x"},
                )
        db.upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT e.id, e.embedding, e.content_sha256, i.content FROM example e "
                    "JOIN example_image i ON i.example_id = e.id ORDER BY e.id"
                )
            ).all()
            revision = connection.execute(text("SELECT revision FROM service WHERE id = 's1'")).scalar_one()
        assert [(r.id, bytes(r.embedding), r.content_sha256, bytes(r.content)) for r in rows] == [
            (f"e{n}", bytes([n]) * 8, None, b"jpeg" * n or b"x") for n in range(3)
        ]
        assert revision == 3
        assert "ix_example_content" in {index["name"] for index in inspect(db.engine).get_indexes("example")}
    finally:
        db.dispose()
