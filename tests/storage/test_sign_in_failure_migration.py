"""Migration 0007 (failed sign-ins counted in the database) upgrades a populated 0006 store and downgrades
again, on each backend, losing nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text

from facekeeper.storage.db import Database
from facekeeper.storage.sign_in_failures import SignInFailureRepository
from tests.storage.migrating import migrate
from tests.storage.test_service_embedder_migration import populate_at_0004, snapshot

ADMIN_ROWS = {
    "account": "SELECT id, email, email_folded, password_hash, role FROM account ORDER BY id",
    "application": "SELECT id, name FROM application ORDER BY id",
    "membership": "SELECT application_id, account_id, role FROM membership ORDER BY application_id",
    "admin_session": "SELECT token_hash, account_id, csrf_token FROM admin_session ORDER BY token_hash",
    "service_embedder": "SELECT id, embedder, application_id FROM service ORDER BY id",
}


def populate_admin_at_0006(db: Database) -> None:
    """An owner signed in, member of an application, the way the code at 0006 wrote them."""
    account_id, application_id = str(uuid.uuid4()), str(uuid.uuid4())
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO account (id, email, email_folded, name, password_hash, role, created_at) "
                "VALUES (:id, 'Boss@example.com', 'boss@example.com', NULL, '$argon2id$x', 'O', CURRENT_TIMESTAMP)"
            ),
            {"id": account_id},
        )
        connection.execute(
            text(
                "INSERT INTO application (id, name, name_folded, created_at) "
                "VALUES (:id, 'Shop', 'shop', CURRENT_TIMESTAMP)"
            ),
            {"id": application_id},
        )
        connection.execute(
            text(
                "INSERT INTO membership (application_id, account_id, role, created_at) "
                "VALUES (:app, :account, 'O', CURRENT_TIMESTAMP)"
            ),
            {"app": application_id, "account": account_id},
        )
        connection.execute(
            text(
                "INSERT INTO admin_session (token_hash, account_id, csrf_token, created_at, expires_at) "
                "VALUES (:hash, :account, 'csrf', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"hash": "a" * 64, "account": account_id},
        )
        connection.execute(text("UPDATE service SET application_id = :app"), {"app": application_id})


def everything(db: Database) -> dict[str, list[tuple[object, ...]]]:
    with db.engine.connect() as connection:
        admin = {table: [tuple(row) for row in connection.execute(text(sql))] for table, sql in ADMIN_ROWS.items()}
    return snapshot(db) | admin


def failure_indexes(db: Database) -> set[str]:
    return {index["name"] or "" for index in inspect(db.engine).get_indexes("sign_in_failure")}


def recent(db: Database, now: datetime) -> list[datetime]:
    with db.transaction() as session:
        return SignInFailureRepository(session).newest("f" * 64, now - timedelta(seconds=60), 5)


def test_0007_on_a_populated_0006_database_and_back(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate(db, "0006")
        populate_at_0004(db)
        populate_admin_at_0006(db)
        before = everything(db)
        assert len(before["example"]) == 3 and len(before["account"]) == 1

        migrate(db, "0007")
        assert everything(db) == before
        assert "sign_in_failure" in inspect(db.engine).get_table_names()
        assert failure_indexes(db) == {"ix_sign_in_failure_key", "ix_sign_in_failure_time"}
        now = datetime.now(UTC)
        with db.transaction() as session:  # the upgraded store counts failures
            SignInFailureRepository(session).add(["f" * 64], now)
        assert recent(db, now) == [now]

        migrate(db, "0006", down=True)
        assert "sign_in_failure" not in inspect(db.engine).get_table_names()
        assert everything(db) == before

        db.upgrade()  # up again: the counts start empty, everything else is there
        assert everything(db) == before
        assert recent(db, now) == []
    finally:
        db.dispose()
