"""Services made by the CLI while another process makes its own: PostgreSQL lets both pass the lookups
(SQLite serialises writers), and the loser of the insert must get an answer, not a constraint error."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.storage.admin import DEFAULT_APPLICATION, ApplicationRepository
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ServiceRepository

# PostgreSQL only: SQLite's writers take the write lock before their lookups, so the race cannot happen there.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _blocked_on(db: Database, table: str) -> None:
    """Until a connection waits for a row lock on an insert into `table` (the other writer's uncommitted row)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            waiting = connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :insert"),
                {"insert": f"INSERT INTO {table} %"},
            )
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError(f"no insert into {table} ever waited: the race was not reproduced")


def _while_another_writer_holds(
    db: Database, hold: Callable[[Session], str], table: str, create: Callable[[], ServiceRecord]
) -> tuple[str, Future[ServiceRecord]]:
    """`hold` writes a conflicting row and keeps it uncommitted until `create` waits on it; then it commits."""
    with ThreadPoolExecutor(1) as pool, db.transaction() as session:
        held = hold(session)
        session.flush()
        created = pool.submit(create)
        _blocked_on(db, table)
    return held, created  # committed on leaving the transaction; `created` has finished with the pool


def test_two_first_services_at_once_share_one_default_application(database: Database) -> None:
    keys = ApiKeyService(database)
    held, created = _while_another_writer_holds(
        database,
        lambda session: ApplicationRepository(session).add(DEFAULT_APPLICATION).id,
        "application",
        lambda: keys.create("mine", ServiceType.RECOGNITION),
    )
    service = created.result(timeout=10)
    assert service.name == "mine"
    with database.engine.connect() as connection:
        applications = connection.execute(text("SELECT id FROM application")).scalars().all()
        owner = connection.scalar(text("SELECT application_id FROM service WHERE name = 'mine'"))
    assert applications == [held]
    assert owner == held


def test_the_same_name_at_once_is_taken_not_a_constraint_error(database: Database) -> None:
    keys = ApiKeyService(database)
    with database.transaction() as session:
        default = ApplicationRepository(session).default_id()

    def hold(session: Session) -> str:
        return ServiceRepository(session).add("same", ServiceType.RECOGNITION, "a" * 36, default, "sface").id

    _, created = _while_another_writer_holds(
        database, hold, "service", lambda: keys.create("same", ServiceType.RECOGNITION)
    )
    with pytest.raises(FacekeeperError) as raised:
        created.result(timeout=10)
    assert raised.value.error is Error.SERVICE_NAME_TAKEN
