"""The sign-in limit holds across servers on one database (`serve --workers N`, several hosts) and across a
restart, and a database that fails during the check is a 503, never a 500 or an uncounted 401. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from facekeeper.app import create_app
from facekeeper.domain import Role
from facekeeper.services.bundle import Services
from tests.admin.conftest import CHEAP_HASHES, OWNER_EMAIL, PASSWORD
from tests.support import squares
from tests.support.databases import make_read_only


class Servers:
    """Servers started on one database, each with its own data directory, as separate processes would be."""

    def __init__(self, tmp_path: Path, database_url: str, stack: ExitStack) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.stack = stack
        self.started = 0

    def start(self) -> Any:
        self.started += 1
        settings = squares.test_settings(
            data_dir=self.tmp_path / f"server{self.started}", database_url=self.database_url, **CHEAP_HASHES
        )
        client = self.stack.enter_context(TestClient(create_app(settings, squares.registry())))
        return client.app


@pytest.fixture
def servers(tmp_path: Path, database_url: str) -> Iterator[Servers]:
    with ExitStack() as stack:
        yield Servers(tmp_path, database_url, stack)


def services_of(app: Any) -> Services:
    services: Services = app.state.services
    return services


def sign_in(app: Any, password: str, client: str = "203.0.113.1") -> httpx.Response:
    """A sign-in of the owner from one client address, to the running server (no `with`: that would start
    the app again, with services of its own)."""
    browser = TestClient(app, client=(client, 50000))
    return browser.post("/admin/session", json={"email": OWNER_EMAIL, "password": password})


def test_failures_through_one_server_count_in_the_other(servers: Servers) -> None:
    one, two = servers.start(), servers.start()
    services_of(one).accounts.create(OWNER_EMAIL, PASSWORD, Role.OWNER)
    for app in (one, two, one, two, one):  # five failures (the limit), spread over both
        assert sign_in(app, "wrong password").status_code == 401
    for app in (one, two):  # the right password waits too, on both
        limited = sign_in(app, PASSWORD)
        assert limited.status_code == 429, limited.text
        assert 0 < int(limited.headers["retry-after"]) <= 300
    # the email is limited from any address, on both servers
    assert sign_in(two, PASSWORD, client="198.51.100.7").status_code == 429


def test_a_restarted_server_remembers_the_failures(servers: Servers) -> None:
    first = servers.start()
    services_of(first).accounts.create(OWNER_EMAIL, PASSWORD, Role.OWNER)
    for _ in range(5):
        assert sign_in(first, "wrong password").status_code == 401
    servers.stack.close()  # the server stops (its lifespan ends) ...
    restarted = servers.start()  # ... and a new one starts on the same database
    with servers.stack:
        limited = sign_in(restarted, PASSWORD)
        assert limited.status_code == 429, limited.text


def test_a_success_clears_the_emails_count_on_every_server(servers: Servers) -> None:
    one, two = servers.start(), servers.start()
    services_of(one).accounts.create(OWNER_EMAIL, PASSWORD, Role.OWNER)
    for _ in range(4):
        assert sign_in(one, "wrong password", client="203.0.113.1").status_code == 401
    assert sign_in(two, PASSWORD, client="203.0.113.2").status_code == 200
    # another address on the first server: the email's count starts again from 0 there too
    for _ in range(5):
        assert sign_in(one, "wrong password", client="203.0.113.3").status_code == 401
    assert sign_in(one, PASSWORD, client="203.0.113.3").status_code == 429
    # the first address keeps its own count (4 failures + none cleared): one more and it waits
    assert sign_in(two, "wrong password", client="203.0.113.1").status_code == 429


def _storage_503(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "message": f"The database cannot be used right now ({reason}); try again later",
        "code": 0,
    }
    assert "Traceback" not in response.text


def test_a_failure_that_cannot_be_counted_is_a_503(servers: Servers, database_url: str) -> None:
    """Read-only database: the password check reads, the count cannot be written. Answering 401 would let
    guesses go on uncounted."""
    app = servers.start()
    services = services_of(app)
    services.accounts.create(OWNER_EMAIL, PASSWORD, Role.OWNER)
    make_read_only(services.db.engine)
    _storage_503(sign_in(app, "wrong password"), "the database is read-only")


def test_a_check_that_fails_is_a_503(servers: Servers) -> None:
    app = servers.start()
    services = services_of(app)
    services.accounts.create(OWNER_EMAIL, PASSWORD, Role.OWNER)
    engine = services.db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def busy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "sign_in_failure" in statement:
            raise engine.dialect.loaded_dbapi.OperationalError("database is locked")

    _storage_503(sign_in(app, PASSWORD), "the database is busy")
