"""Replicas that start together all migrate the same database: the upgrades must serialise, not collide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from facekeeper.storage.db import Database

UPGRADE = "import sys; from facekeeper.storage.db import Database; Database(sys.argv[1]).upgrade()"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_simultaneous_upgrades_of_a_fresh_database(fresh_url: str) -> None:
    # Processes, as replicas are: Alembic keeps its migration context in module globals.
    processes = [
        subprocess.Popen([sys.executable, "-c", UPGRADE, fresh_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], "\n".join(errors)
    db = Database(fresh_url)
    try:
        assert {"service", "example", "alembic_version"} <= set(inspect(db.engine).get_table_names())
        assert db.ping() is None
    finally:
        db.dispose()
