"""The per-service migration lock on each backend: one holder across lock objects (as across processes), the
holder's target seen by the others, released by `release` and by the holding process's death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from facekeeper.storage.db import Database
from facekeeper.storage.migration_locks import FileMigrationLocks, migration_locks

SERVICE = "0b9f6c52-6a53-4a43-9f43-2f1c2b7d5e01"
OTHER = "6f1d2c3b-0000-4000-8000-000000000002"
ROOT = Path(__file__).resolve().parents[2]


def _wait_free(database: Database, service_id: str) -> None:
    """A killed process's PostgreSQL session ends once the server notices the closed socket."""
    deadline = time.monotonic() + 10
    while migration_locks(database).holder(service_id) is not None:
        assert time.monotonic() < deadline, "the dead process's lock was never released"
        time.sleep(0.05)


def test_one_holder_at_a_time_and_others_see_its_target(database: Database) -> None:
    mine, theirs = migration_locks(database), migration_locks(database)
    assert theirs.holder(SERVICE) is None
    held = mine.hold(SERVICE, "dlib")
    assert held is not None and held.held()
    assert theirs.holder(SERVICE) == "dlib"
    assert theirs.hold(SERVICE, "sface") is None  # refused, not waited for
    assert theirs.holder(OTHER) is None
    other = theirs.hold(OTHER, "sface")  # other services are independent
    assert other is not None and mine.holder(OTHER) == "sface"  # keys of both signs (OTHER's is positive)
    other.release()
    assert held.held() and not other.held()
    held.release()
    held.release()  # idempotent
    assert not held.held()
    assert theirs.holder(SERVICE) is None
    again = theirs.hold(SERVICE, "sface")
    assert again is not None and mine.holder(SERVICE) == "sface"
    again.release()


def test_a_probe_never_refuses_a_starter(database: Database) -> None:
    locks = migration_locks(database)
    for _ in range(20):
        assert locks.holder(SERVICE) is None
        held = locks.hold(SERVICE, "dlib")
        assert held is not None
        held.release()


def test_sqlite_locks_live_beside_the_database(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/sub/fk.db")
    locks = migration_locks(database)
    assert isinstance(locks, FileMigrationLocks) and locks.directory == (tmp_path / "sub" / "migrations").resolve()
    database.dispose()


def test_the_death_of_the_holding_process_releases_it(database: Database, tmp_path: Path) -> None:
    ready = tmp_path / "held"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from facekeeper.storage.db import Database\n"
        "from facekeeper.storage.migration_locks import migration_locks\n"
        "held = migration_locks(Database(sys.argv[1])).hold(sys.argv[2], 'dlib')\n"
        "assert held is not None\n"
        "Path(sys.argv[3]).write_text('held')\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, database.url, SERVICE, str(ready)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the child never held the lock"
            time.sleep(0.05)
        locks = migration_locks(database)
        assert locks.holder(SERVICE) == "dlib"
        assert locks.hold(SERVICE, "sface") is None
        os.kill(child.pid, signal.SIGKILL)  # no cleanup of its own: the OS or the server releases it
        child.wait(timeout=10)
        _wait_free(database, SERVICE)
        held = locks.hold(SERVICE, "sface")
        assert held is not None
        held.release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
