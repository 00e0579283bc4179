"""Checks every command runs before touching the database, so a bad data directory is one line."""

from __future__ import annotations

import tempfile

from facekeeper.errors import Error, FacekeeperError
from facekeeper.settings import Settings
from facekeeper.storage.db import Database


def check_data_dir(settings: Settings) -> None:
    """Create the data directory and prove a file can be written there (mkdir alone passes read-only)."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.data_dir, prefix=".write-check-"):
            pass
    except OSError as error:
        raise FacekeeperError(
            Error.DATA_DIR_NOT_WRITABLE, path=settings.data_dir, reason=error.strerror or str(error)
        ) from error


def open_database(settings: Settings) -> Database:
    """The database of a command that needs no models: checked data directory, schema up to date."""
    check_data_dir(settings)
    db = Database(settings.resolved_database_url)
    db.upgrade()
    return db
