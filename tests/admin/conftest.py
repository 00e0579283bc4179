"""An app with fake models (tests/support/squares.py) and browsers (cookie jars) signed in as accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.domain import Role
from facekeeper.services.bundle import Services
from tests.support import squares

OWNER_EMAIL = "owner@example.com"
PASSWORD = "correct horse battery"
# argon2id at its smallest: these tests are about the rules, not the cost (the default is tested apart).
CHEAP_HASHES: dict[str, object] = {"password_hash_memory_kib": 8, "password_hash_time_cost": 1}


class Browser:
    """One cookie jar signed in (or not) as one account; sends the CSRF token like the web UI does."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app)
        self.csrf: str | None = None
        self.account: dict[str, Any] | None = None

    def remember(self, response: httpx.Response) -> httpx.Response:
        if response.status_code in (200, 201) and "csrf_token" in response.json():
            self.csrf = response.json()["csrf_token"]
            self.account = response.json()["account"]
        return response

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.remember(self.client.post("/admin/session", json={"email": email, "password": password}))

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if method != "GET" and self.csrf is not None:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return self.client.request(method, f"/admin{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


class Admin:
    """The app, its use cases, and a signed-in owner; `browser(email, role)` makes more accounts."""

    def __init__(self, client: TestClient) -> None:
        self.client = client  # the one in the lifespan's `with` block (raw ASGI requests need it)
        self.app = client.app
        self.services: Services = client.app.state.services  # type: ignore[attr-defined]
        self.owner = Browser(self.app)
        code = self.services.accounts.issue_setup_code()
        body = {"setup_code": code, "email": OWNER_EMAIL, "password": PASSWORD, "name": "Olive Owner"}
        response = self.owner.remember(self.owner.client.post("/admin/setup", json=body))
        assert response.status_code == 201, response.text

    def browser(self, email: str | None = None, role: Role = Role.USER) -> Browser:
        """A new browser; with `email`, an account of that global role made and signed in."""
        browser = Browser(self.app)
        if email is not None:
            self.services.accounts.create(email, PASSWORD, role)
            assert browser.sign_in(email).status_code == 200
        return browser

    def application(self, name: str = "shop") -> dict[str, Any]:
        return self.owner.ok("POST", "/applications", 201, json={"name": name})

    def service(self, app_id: str, name: str = "faces", type_name: str = "RECOGNITION") -> dict[str, Any]:
        body = {"name": name, "type": type_name}
        return self.owner.ok("POST", f"/applications/{app_id}/services", 201, json=body)


@pytest.fixture
def admin(tmp_path: Path, database_url: str) -> Iterator[Admin]:
    settings = squares.test_settings(data_dir=tmp_path, database_url=database_url, **CHEAP_HASHES)
    with TestClient(create_app(settings, squares.registry())) as client:
        yield Admin(client)


@pytest.fixture
def admin_sqlite(tmp_path: Path) -> Iterator[Admin]:
    """SQLite only: for tests about HTTP details that the database cannot change."""
    settings = squares.test_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/fk.db", **CHEAP_HASHES)
    with TestClient(create_app(settings, squares.registry())) as client:
        yield Admin(client)
