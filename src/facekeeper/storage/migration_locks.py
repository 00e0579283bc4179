"""One exclusive lock per collection for its embedder migration, shared by every process and host on the
database: at most one run at a time, and any process can tell that a run is going on somewhere.

PostgreSQL: a session-level advisory lock held by a dedicated connection for the run's whole duration.
SQLite (one host by nature): an OS file lock (flock) on a file beside the database. Either is released by
the operating system or the server when the holding process dies, so there is no lease to expire and no
stale "running" after a crash.

A probe (`holder`) never takes the lock in a way a starter could trip on for long: on PostgreSQL it only
reads `pg_locks`; on SQLite it takes a shared lock for a few microseconds, which is why `hold` retries for
`_HOLD_GRACE_S` before saying the lock is someone else's.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from facekeeper.storage.db import Database, describe, storage_errors

logger = logging.getLogger(__name__)

_HOLD_GRACE_S = 0.5  # longer than any probe holds the file; far shorter than any run
_RETRY_S = 0.02
_SAFE_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# Shown in pg_stat_activity as the lock connection's application_name, followed by the target embedder:
# how another host learns the target before the run's first batch is committed.
_APPLICATION_PREFIX = "facekeeper-migrate:"


class HeldLock(Protocol):
    def release(self) -> None:
        """Idempotent; after it another process can hold the lock."""

    def held(self) -> bool:
        """Still ours. A PostgreSQL lock goes with its connection: a run that lost it must stop before
        another process, free to start, works on the same collection."""


class MigrationLocks(Protocol):
    def hold(self, service_id: str, target: str) -> HeldLock | None:
        """The service's lock, noting `target` for other processes; None when another run holds it."""

    def holder(self, service_id: str) -> str | None:
        """The target noted by the run holding the lock ("" if unknown), None when no run holds it."""


def migration_locks(db: Database) -> MigrationLocks:
    """The lock that fits the database: advisory locks on PostgreSQL, files beside a SQLite database."""
    if not db.is_sqlite:
        return PostgresMigrationLocks(db)
    database = make_url(db.url).database
    if not database or database == ":memory:":  # one connection's database: only this process sees it
        return FileMigrationLocks(None)
    return FileMigrationLocks(Path(database).resolve().parent / "migrations")


def lock_key(service_id: str) -> int:
    """A stable signed 64-bit advisory-lock key for the service (its id hashed: ids are UUID strings)."""
    digest = hashlib.blake2b(f"facekeeper-migrate:{service_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _PostgresLock:
    def __init__(self, connection: Connection, key: int) -> None:
        self._connection: Connection | None = connection
        self._key = key

    def held(self) -> bool:
        if self._connection is None:
            return False
        try:
            return bool(
                self._connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND pid = pg_backend_pid() AND objsubid = 1 "
                        "AND classid = CAST(:high AS bigint)::oid AND objid = CAST(:low AS bigint)::oid"
                    ),
                    {"high": (self._key & 0xFFFFFFFFFFFFFFFF) >> 32, "low": self._key & 0xFFFFFFFF},
                ).scalar_one()
            )
        except SQLAlchemyError as error:  # the connection is gone, and the lock with its session
            logger.warning("migration lock: its connection is lost (%s)", describe(error))
            return False

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Unlocked explicitly: a closed socket frees the lock only once the server notices.
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        except SQLAlchemyError as error:  # the connection is gone, and the lock with its session
            logger.warning("migration lock: unlock failed (%s); the connection is dropped", describe(error))
        finally:
            # Never back into the pool: the next user would inherit the lock or the application_name.
            connection.invalidate()
            connection.close()


class PostgresMigrationLocks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def hold(self, service_id: str, target: str) -> HeldLock | None:
        key = lock_key(service_id)
        with storage_errors():
            # AUTOCOMMIT: the connection idles outside any transaction for the run's whole duration (an idle
            # transaction would hold back vacuum and may be killed by idle_in_transaction_session_timeout).
            connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                connection.execute(
                    text("SELECT set_config('application_name', :name, false)"),
                    {"name": (_APPLICATION_PREFIX + target)[:63]},
                )
                if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one():
                    return _PostgresLock(connection, key)
            except BaseException:
                connection.invalidate()
                connection.close()
                raise
            connection.invalidate()
            connection.close()
        return None

    def holder(self, service_id: str) -> str | None:
        key = lock_key(service_id) & 0xFFFFFFFFFFFFFFFF
        with self.db.read() as connection:
            # A bigint advisory key shows as classid (high 32 bits), objid (low 32 bits), objsubid 1.
            row = connection.execute(
                text(
                    "SELECT coalesce(a.application_name, '') FROM pg_locks l "
                    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND l.classid = CAST(:high AS bigint)::oid AND l.objid = CAST(:low AS bigint)::oid"
                ),
                {"high": key >> 32, "low": key & 0xFFFFFFFF},
            ).first()
        if row is None:
            return None
        name = str(row[0])
        return name.removeprefix(_APPLICATION_PREFIX) if name.startswith(_APPLICATION_PREFIX) else ""


class _FileLock:
    def __init__(self, descriptor: int) -> None:
        self._descriptor: int | None = descriptor

    def held(self) -> bool:
        """An flock lasts as long as its open descriptor, which only `release` closes."""
        return self._descriptor is not None

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None:
            return
        try:
            os.ftruncate(descriptor, 0)  # the note goes first, so a later probe never reads a stale target
        finally:
            os.close(descriptor)  # closing the descriptor releases the flock


class FileMigrationLocks:
    def __init__(self, directory: Path | None) -> None:
        """`directory` None (an in-memory database): files in a directory private to this object."""
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="facekeeper-migrations-"))
        self.directory = directory

    def _path(self, service_id: str) -> Path:
        name = service_id if _SAFE_NAME.match(service_id) else hashlib.blake2b(service_id.encode()).hexdigest()
        return self.directory / f"{name}.lock"

    def hold(self, service_id: str, target: str) -> HeldLock | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._path(service_id), os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + _HOLD_GRACE_S
        while True:
            try:
                # flock, not fcntl/lockf: its locks belong to the open file, so two runs in one process (two
                # apps in a test) exclude each other too, and a dying process's are released with its files.
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(descriptor)
                    return None
                time.sleep(_RETRY_S)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, target.encode(), 0)
        return _FileLock(descriptor)

    def holder(self, service_id: str) -> str | None:
        try:
            descriptor = os.open(self._path(service_id), os.O_RDONLY)
        except FileNotFoundError:
            return None  # no run ever held it
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(descriptor, 256, 0).decode(errors="replace")
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            return None
        finally:
            os.close(descriptor)
