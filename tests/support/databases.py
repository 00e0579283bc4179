"""Databases made to fail on purpose, for the tests of what a fault answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def make_read_only(engine: Engine) -> None:
    """Every connection the engine opens from now on refuses writes (SQLite's query_only, PostgreSQL's
    read-only default); the pool is emptied so no writable connection is left."""
    sqlite = engine.dialect.name == "sqlite"
    statement = "PRAGMA query_only = ON" if sqlite else "SET default_transaction_read_only = on"

    @event.listens_for(engine, "connect")
    def read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if not sqlite:
            dbapi_connection.commit()

    engine.dispose()
