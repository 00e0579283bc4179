"""The engine and transactions, built from settings (never at import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x46414345_4B505200  # "FACEKPR\0": any fixed number other applications are unlikely to use


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the server read while the CLI writes; FULL sync makes each commit survive a power
    # cut, not only a crash (writes are rare, so the fsync cost is irrelevant); foreign keys are
    # off by default in SQLite and the cascades depend on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


class Database:
    """Owns the engine; every unit of work is one `transaction()`, committed whole or not at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """`write=True` for read-then-write units of work. On SQLite they take the write lock up front
        (BEGIN IMMEDIATE): a deferred transaction that read first fails at once with SQLITE_BUSY, without
        waiting, when another connection committed in between."""
        with self._sessions.begin() as session:
            if write and self.is_sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only transaction that sees one state of the database however long it runs (an export
        while the server keeps writing). pysqlite begins transactions only before writes, so a SELECT-only
        unit of work would see every commit in between without the explicit BEGIN."""
        with self._sessions.begin() as session:
            if self.is_sqlite:
                session.connection().exec_driver_sql("BEGIN")
            else:
                session.connection().exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield session

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A plain connection for hot read-only lookups (the API-key check on every request): a third of
        an ORM session's cost."""
        with self.engine.connect() as connection:
            yield connection

    def ping(self) -> str | None:
        """None when the database answers a read of the migrated schema, else why not (for /readyz)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT version_num FROM alembic_version")).first()
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            first_line = next(iter(str(cause).strip().splitlines()), "")
            return f"{type(cause).__name__}: {first_line}"
        return None

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            # Processes that start together (replicas, `serve --workers`) would otherwise create the same
            # tables at once and all but one would fail. Each waits for the lock, which commit releases, and
            # then finds nothing left to do. pysqlite would run the DDL outside any transaction without the
            # explicit BEGIN.
            if self.is_sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()
