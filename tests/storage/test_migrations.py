"""Every migration upgrades a populated database made at the previous head, on each backend, losing nothing."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import text

from facekeeper.domain import ServiceType
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository
from tests.storage.migrating import migrate


def test_0003_change_log_on_a_populated_0002_database(database_url: str) -> None:
    db = Database(database_url)
    migrate(db, "0002")
    ids: dict[str, list[str]] = {}
    with db.engine.begin() as connection:  # rows written the way the code at 0002 wrote them
        for service_name, example_total in (("big", 5), ("small", 2), ("empty", 0)):
            service_id = str(uuid.uuid4())
            connection.execute(
                text(
                    "INSERT INTO service (id, name, name_folded, type, api_key, revision, created_at) "
                    "VALUES (:id, :name, :name, 'R', :key, 7, CURRENT_TIMESTAMP)"
                ),
                {"id": service_id, "name": service_name, "key": str(uuid.uuid4())},
            )
            subject_id = str(uuid.uuid4())
            connection.execute(
                text(
                    "INSERT INTO subject (id, service_id, name, name_folded, created_at) "
                    "VALUES (:id, :service, 'Tom', 'tom', CURRENT_TIMESTAMP)"
                ),
                {"id": subject_id, "service": service_id},
            )
            ids[service_name] = []
            for _ in range(example_total):
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
                ids[service_name].append(example_id)
    db.upgrade()
    with db.transaction() as session:
        services = {s.name: s for s in ServiceRepository(session).all()}
        assert {name: s.revision for name, s in services.items()} == {"big": 7, "small": 7, "empty": 7}
        counts = {name: ServiceRepository(session).example_count(s.id) for name, s in services.items()}
        assert counts == {"big": 5, "small": 2, "empty": 0}
        examples, listed = ExampleRepository(session).page(services["big"].id, "tom", 0, 10)
        assert listed == 5
        assert sorted(e.image_id for e in examples) == sorted(ids["big"])
        assert ExampleRepository(session).image(services["small"].id, ids["small"][0]) == b"jpeg"
        assert session.execute(text("SELECT count(*) FROM collection_change")).scalar_one() == 0
    with db.transaction() as session:  # and the upgraded store takes writes
        subject = SubjectRepository(session).find(services["empty"].id, "TOM")
        assert subject is not None
        ExampleRepository(session).add(services["empty"].id, subject.id, np.ones(4, dtype=np.float32), "c", None)
    db.dispose()


def test_0003_downgrades_to_0002_and_upgrades_again(database: Database) -> None:
    migrate(database, "0002", down=True)
    database.upgrade()
    with database.transaction() as session:
        ServiceRepository(session).add("after", ServiceType.RECOGNITION, str(uuid.uuid4()))
