"""The engine and transactions, built from settings (never at import)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, InterfaceError, InternalError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from facekeeper.errors import Error, FacekeeperError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x46414345_4B505200  # "FACEKPR\0": any fixed number other applications are unlikely to use
logger = logging.getLogger(__name__)


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


def describe(error: BaseException) -> str:
    """The driver's first line with its type, never the statement or its parameters."""
    cause = getattr(error, "orig", None) or error
    first_line = next(iter(str(cause).strip().splitlines()), "")
    return f"{type(cause).__name__}: {first_line}"


def masked_url(url: str) -> str:
    """The URL with its password replaced by `***`, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


# Driver messages that say what is wrong in words an operator acts on; anything else is "unreachable".
_STORAGE_CAUSES = (
    ("disk is full", "the disk is full"),
    ("readonly database", "the database is read-only"),
    ("read-only", "the database is read-only"),  # PostgreSQL: "cannot execute ... in a read-only transaction"
    ("database is locked", "the database is busy"),
)


@contextmanager
def storage_errors() -> Iterator[None]:
    """A failing database is the server's fault: 503 from the catalogue, logged once, never a traceback
    in a body. Constraint violations (IntegrityError) are left to the use cases that expect them."""
    try:
        yield
    except (OperationalError, InterfaceError, InternalError, PoolTimeoutError) as error:
        detail = describe(error)
        reason = next((said for found, said in _STORAGE_CAUSES if found in detail.lower()), "it is unreachable")
        logger.error("database failure: %s", detail)
        raise FacekeeperError(Error.STORAGE_UNAVAILABLE, reason=reason) from None


class _RowValuesHidden(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG (service rows hold API keys): keep the line, not the
    values. Parameters are hidden by the engine's `hide_parameters`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Row"):
            record.msg, record.args = "Row (values hidden)", ()
        return True


_ROW_VALUES_HIDDEN = _RowValuesHidden()


class Database:
    """Owns the engine; every unit of work is one `transaction()`, committed whole or not at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Statement parameters hold API keys and names: never in an exception text, never in a log line.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ImportError) as error:  # not a URL, unknown dialect, driver not installed
            raise FacekeeperError(Error.DATABASE_UNREACHABLE, url=masked_url(url), reason=describe(error)) from None
        # Idempotent: the same filter object is added once, whatever the number of engines.
        logging.getLogger("sqlalchemy.engine.Engine").addFilter(_ROW_VALUES_HIDDEN)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """`write=True` for read-then-write units of work. On SQLite they take the write lock up front
        (BEGIN IMMEDIATE): a deferred transaction that read first fails at once with SQLITE_BUSY, without
        waiting, when another connection committed in between."""
        with storage_errors(), self._sessions.begin() as session:
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
        with storage_errors(), self.engine.connect() as connection:
            yield connection

    def ping(self) -> str | None:
        """None when the database answers a read of the migrated schema, else why not (for /readyz)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT version_num FROM alembic_version")).first()
        except SQLAlchemyError as error:
            return describe(error)
        return None

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        try:
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
        except SQLAlchemyError as error:
            raise FacekeeperError(
                Error.DATABASE_UNREACHABLE, url=masked_url(self.url), reason=describe(error)
            ) from None

    def optimize(self) -> None:
        """Refresh the query planner's statistics after a bulk change (an import of thousands of examples),
        so listing and deleting keep choosing the indexes. SQLite samples at most `analysis_limit` rows
        per index, so this takes milliseconds whatever the size; PostgreSQL's ANALYZE samples too."""
        with storage_errors(), self.engine.begin() as connection:
            if self.is_sqlite:
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")
                connection.exec_driver_sql("ANALYZE")
                connection.exec_driver_sql("PRAGMA optimize")
            else:
                connection.exec_driver_sql("ANALYZE service, subject, example, collection_change")

    def dispose(self) -> None:
        self.engine.dispose()
