"""Moving a test database to one revision, up or down: each migration test populates the store the way the code
of an earlier revision wrote it, then moves it."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from facekeeper.storage.db import MIGRATIONS_DIR, Database


def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
