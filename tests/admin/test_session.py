"""Setup code, sign-in, session cookie flags, CSRF, rate limit, sign-out (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.domain import Role
from facekeeper.services.accounts import AccountService
from facekeeper.storage.db import Database
from tests.admin.conftest import CHEAP_HASHES, OWNER_EMAIL, PASSWORD, Admin, Browser
from tests.support import squares


@pytest.fixture
def fresh(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    """A server with no owner yet."""
    settings = squares.test_settings(data_dir=tmp_path, database_url=database_url, **CHEAP_HASHES)
    with TestClient(create_app(settings, squares.registry())) as client:
        yield client


def _setup(client: TestClient, code: object, email: str = OWNER_EMAIL) -> httpx.Response:
    return client.post("/admin/setup", json={"setup_code": code, "email": email, "password": PASSWORD})


def test_first_sign_up_needs_the_current_setup_code_and_uses_it_up(fresh: TestClient) -> None:
    accounts: AccountService = fresh.app.state.services.accounts  # type: ignore[attr-defined]
    assert fresh.get("/admin/setup").json() == {"owner_exists": False}
    old = accounts.issue_setup_code()
    code = accounts.issue_setup_code()  # a new start: the old code no longer works
    assert old is not None and code is not None and old != code
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    for wrong in (None, "", old, "AAAA-AAAA-AAAA"):
        response = _setup(fresh, wrong)
        assert response.status_code in (400, 403), response.text
        if wrong is not None:
            assert response.json()["code"] == 1 and "setup code" in response.json()["message"]
    assert fresh.get("/admin/setup").json() == {"owner_exists": False}
    created = _setup(fresh, code.lower().replace("-", " "))  # typed by hand: case and separators ignored
    assert created.status_code == 201, created.text
    assert created.json()["account"] | {"id": None} == {
        "id": None,
        "email": OWNER_EMAIL,
        "name": None,
        "role": "OWNER",
    }
    assert fresh.get("/admin/setup").json() == {"owner_exists": True}
    again = _setup(fresh, code, "second@example.com")
    assert (again.status_code, again.json()["code"]) == (409, 9)
    assert accounts.issue_setup_code() is None  # a server with an owner prints no code


def test_setup_refuses_bad_accounts_and_changes_nothing(fresh: TestClient) -> None:
    code = fresh.app.state.services.accounts.issue_setup_code()  # type: ignore[attr-defined]
    bad = [
        ({"email": "not-an-email", "password": PASSWORD}, 22),
        ({"email": OWNER_EMAIL, "password": "short"}, 26),
        ({"email": OWNER_EMAIL, "password": "x" * 256}, 26),
        ({"email": OWNER_EMAIL, "password": PASSWORD, "name": "n" * 101}, 26),
        ({"email": OWNER_EMAIL}, 26),
    ]
    for body, code_number in bad:
        response = fresh.post("/admin/setup", json={"setup_code": code, **body})
        assert (response.status_code, response.json()["code"]) == (400, code_number), (body, response.text)
    assert fresh.get("/admin/setup").json() == {"owner_exists": False}
    assert _setup(fresh, code).status_code == 201  # the code survived the failed attempts


def test_wrong_setup_codes_are_rate_limited(fresh: TestClient) -> None:
    code = fresh.app.state.services.accounts.issue_setup_code()  # type: ignore[attr-defined]
    for _ in range(5):
        assert _setup(fresh, "AAAA-BBBB-CCCC").status_code == 403
    limited = _setup(fresh, code)  # even the right code waits: guessing must not be cheap
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def test_session_cookie_flags_and_session_answer(admin: Admin) -> None:
    browser = admin.browser()
    response = browser.sign_in(OWNER_EMAIL)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("facekeeper_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/admin"} <= flags
    assert "secure" not in flags  # plain http here
    assert response.json()["csrf_token"] and response.json()["account"]["email"] == OWNER_EMAIL
    again = browser.get("/session")
    assert again.status_code == 200 and again.json()["csrf_token"] == response.json()["csrf_token"]
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token not in response.text  # the token lives in the cookie only


def test_cookie_is_secure_behind_https(admin_sqlite: Admin) -> None:
    response = admin_sqlite.browser().client.post(
        "/admin/session",
        json={"email": OWNER_EMAIL, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


def test_state_changing_calls_need_the_csrf_token(admin: Admin) -> None:
    owner = admin.owner
    for headers in ({"X-CSRF-Token": ""}, {"X-CSRF-Token": "forged"}, {}):
        response = owner.client.post("/admin/applications", json={"name": "x"}, headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, 1), response.text
    assert owner.ok("GET", "/applications")["applications"] == []  # nothing was created
    other = admin.browser("second@example.com", Role.ADMINISTRATOR)
    stolen = owner.client.post("/admin/applications", json={"name": "x"}, headers={"X-CSRF-Token": other.csrf or ""})
    assert stolen.status_code == 403  # another session's token does not fit this session
    assert owner.ok("POST", "/applications", 201, json={"name": "x"})["name"] == "x"


def test_every_admin_route_needs_a_session(admin: Admin) -> None:
    stranger = admin.browser()
    app = admin.application()
    service = admin.service(app["id"])
    routes = [
        ("GET", "/session"),
        ("DELETE", "/session"),
        ("PUT", "/session/password"),
        ("GET", "/accounts"),
        ("POST", "/accounts"),
        ("PUT", "/accounts/x/role"),
        ("DELETE", "/accounts/x"),
        ("GET", "/applications"),
        ("POST", "/applications"),
        ("GET", f"/applications/{app['id']}"),
        ("PATCH", f"/applications/{app['id']}"),
        ("DELETE", f"/applications/{app['id']}"),
        ("GET", f"/applications/{app['id']}/services"),
        ("POST", f"/applications/{app['id']}/services"),
        ("GET", f"/applications/{app['id']}/members"),
        ("POST", f"/applications/{app['id']}/members"),
        ("PUT", f"/applications/{app['id']}/members/x"),
        ("DELETE", f"/applications/{app['id']}/members/x"),
        ("GET", f"/services/{service['id']}"),
        ("PATCH", f"/services/{service['id']}"),
        ("DELETE", f"/services/{service['id']}"),
        ("POST", f"/services/{service['id']}/key"),
        ("GET", f"/services/{service['id']}/stats"),
        ("GET", f"/services/{service['id']}/migrate"),
        ("POST", f"/services/{service['id']}/migrate"),
        ("GET", f"/services/{service['id']}/subjects"),
        ("POST", f"/services/{service['id']}/subjects"),
        ("PUT", f"/services/{service['id']}/subjects/a"),
        ("DELETE", f"/services/{service['id']}/subjects/a"),
        ("GET", f"/services/{service['id']}/examples"),
        ("POST", f"/services/{service['id']}/examples"),
        ("DELETE", f"/services/{service['id']}/examples/00000000-0000-4000-8000-000000000000"),
        ("GET", f"/services/{service['id']}/examples/00000000-0000-4000-8000-000000000000/image"),
    ]
    for method, path in routes:
        response = stranger.call(method, path, json={"name": "n"})
        assert (response.status_code, response.json()) == (
            401,
            {"message": "Sign in first: no valid session", "code": 0},
        ), (method, path)
    forged = Browser(admin.app)
    forged.client.cookies.set("facekeeper_session", "forged", path="/admin")
    assert forged.get("/applications").status_code == 401
    assert admin.owner.ok("GET", f"/services/{service['id']}")["name"] == "faces"  # nothing changed


def test_sign_in_failures_and_rate_limit(admin: Admin) -> None:
    browser = admin.browser()
    unknown = browser.sign_in("nobody@example.com")
    wrong = browser.sign_in(OWNER_EMAIL, "wrong password")
    assert unknown.json() == wrong.json() == {"message": "Wrong email or password", "code": 18}
    assert unknown.status_code == wrong.status_code == 401
    for _ in range(3):  # five failures from this client (per email too: see test_ratelimit.py)
        assert browser.sign_in(OWNER_EMAIL, "wrong password").status_code == 401
    limited = browser.sign_in(OWNER_EMAIL)  # the right password too, until the window passes
    assert limited.status_code == 429
    assert limited.json()["code"] == 0 and "try again in" in limited.json()["message"]
    assert 0 < int(limited.headers["retry-after"]) <= 300
    assert admin.owner.get("/session").status_code == 200  # a session made before is not affected


def test_sign_out_ends_the_session_everywhere(admin: Admin) -> None:
    cookie = admin.owner.client.cookies.get("facekeeper_session")
    assert admin.owner.call("DELETE", "/session").status_code == 204
    assert admin.owner.get("/session").status_code == 401
    replay = Browser(admin.app)
    replay.client.cookies.set("facekeeper_session", cookie or "", path="/admin")
    assert replay.get("/session").status_code == 401  # a copied cookie is dead too


def test_deleted_account_and_new_password_end_sessions(admin: Admin) -> None:
    user = admin.browser("user@example.com")
    assert user.get("/session").status_code == 200
    admin.services.accounts.set_password("user@example.com", "another password")
    assert user.get("/session").status_code == 401
    assert user.sign_in("user@example.com", "another password").status_code == 200
    admin.services.accounts.delete("user@example.com")
    assert user.get("/session").status_code == 401


def test_admin_answers_have_no_cors_and_are_not_cached(admin_sqlite: Admin) -> None:
    client = admin_sqlite.owner.client
    origin = {"Origin": "https://evil.example"}
    for response in (client.get("/admin/session", headers=origin), client.get("/admin/setup", headers=origin)):
        assert "access-control-allow-origin" not in response.headers
        assert response.headers["cache-control"] == "no-store"
    preflight = client.options("/admin/applications", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code in (404, 405)
    face = client.get("/api/v1/recognition/subjects", headers=origin)
    assert face.headers["access-control-allow-origin"] == "*"  # the face API keeps D13


def test_passwords_are_stored_as_argon2id(admin_sqlite: Admin) -> None:
    db: Database = admin_sqlite.services.db
    with db.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT password_hash FROM account").scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_default_password_cost_is_owasps_minimum() -> None:
    from facekeeper.services.passwords import Passwords
    from facekeeper.settings import Settings

    settings = Settings()
    stored = Passwords(settings.password_hash_memory_kib, settings.password_hash_time_cost).hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
