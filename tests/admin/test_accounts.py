"""Accounts through the admin API: the global owner and administrators manage them (§9.2), anyone changes
their own password."""

from __future__ import annotations

from facekeeper.domain import Role
from tests.admin.conftest import OWNER_EMAIL, PASSWORD, Admin


def test_owner_creates_lists_re_roles_and_deletes_accounts(admin: Admin) -> None:
    owner = admin.owner
    body = {"email": "ann@example.com", "password": "password 1", "name": "Ann"}
    ann = owner.ok("POST", "/accounts", 201, json=body)
    assert ann | {"id": None, "created_at": None} == {
        "id": None,
        "email": "ann@example.com",
        "name": "Ann",
        "role": "USER",
        "created_at": None,
    }
    listed = owner.ok("GET", "/accounts")["accounts"]
    assert [(a["email"], a["role"]) for a in listed] == [(OWNER_EMAIL, "OWNER"), ("ann@example.com", "USER")]
    for bad, status, code in (
        ({**body, "email": "ANN@example.com"}, 400, 4),
        ({**body, "email": "x"}, 400, 22),
        ({**body, "email": "b@example.com", "password": "short"}, 400, 26),
        ({**body, "email": "b@example.com", "role": "KING"}, 400, 26),
    ):
        response = owner.post("/accounts", json=bad)
        assert (response.status_code, response.json()["code"]) == (status, code), bad
    assert owner.ok("PUT", f"/accounts/{ann['id']}/role", json={"role": "ADMINISTRATOR"})["role"] == "ADMINISTRATOR"
    me = owner.account["id"] if owner.account else ""
    assert owner.call("PUT", f"/accounts/{me}/role", json={"role": "USER"}).json()["code"] == 14
    assert owner.call("DELETE", f"/accounts/{me}").json()["code"] == 9  # the owner cannot be deleted
    assert owner.ok("DELETE", f"/accounts/{ann['id']}")["email"] == "ann@example.com"
    assert owner.call("DELETE", f"/accounts/{ann['id']}").json()["code"] == 16
    assert len(owner.ok("GET", "/accounts")["accounts"]) == 1


def test_global_administrators_cannot_touch_the_owner_nor_grant_ownership(admin: Admin) -> None:
    boss = admin.browser("boss@example.com", Role.ADMINISTRATOR)
    user = admin.services.accounts.create("u@example.com", "password 1", Role.USER)
    owner_id = admin.owner.account["id"] if admin.owner.account else ""
    denied = [
        ("POST", "/accounts", {"email": "o2@example.com", "password": "password 1", "role": "OWNER"}),
        ("PUT", f"/accounts/{user.id}/role", {"role": "OWNER"}),
        ("PUT", f"/accounts/{owner_id}/role", {"role": "USER"}),
    ]
    for method, path, body in denied:
        response = boss.call(method, path, json=body)
        assert (response.status_code, response.json()["code"]) == (403, 1), (method, path, response.text)
    assert boss.ok("PUT", f"/accounts/{user.id}/role", json={"role": "ADMINISTRATOR"})["role"] == "ADMINISTRATOR"
    assert (
        boss.ok("POST", "/accounts", 201, json={"email": "n@example.com", "password": "password 1"})["role"] == "USER"
    )
    assert boss.call("DELETE", f"/accounts/{owner_id}").status_code in (400, 403)
    roles = {a["email"]: a["role"] for a in admin.owner.ok("GET", "/accounts")["accounts"]}
    assert roles[OWNER_EMAIL] == "OWNER"


def test_the_owner_can_transfer_ownership(admin: Admin) -> None:
    ann = admin.owner.ok("POST", "/accounts", 201, json={"email": "ann@example.com", "password": "password 1"})
    admin.owner.ok("PUT", f"/accounts/{ann['id']}/role", json={"role": "OWNER"})
    roles = {a["email"]: a["role"] for a in admin.owner.ok("GET", "/accounts")["accounts"]}
    assert roles == {OWNER_EMAIL: "ADMINISTRATOR", "ann@example.com": "OWNER"}


def test_global_users_manage_no_accounts_but_may_leave(admin: Admin) -> None:
    user = admin.browser("u@example.com")
    for method, path, body in (
        ("GET", "/accounts", None),
        ("POST", "/accounts", {"email": "x@example.com", "password": "password 1"}),
        ("PUT", f"/accounts/{admin.owner.account['id'] if admin.owner.account else ''}/role", {"role": "USER"}),
    ):
        response = user.call(method, path, json=body)
        assert (response.status_code, response.json()["code"]) == (403, 1), (method, path)
    me = user.account["id"] if user.account else ""
    deleted = user.call("DELETE", f"/accounts/{me}")
    assert deleted.status_code == 200 and "facekeeper_session=" in deleted.headers["set-cookie"]
    assert user.get("/session").status_code == 401


def test_changing_ones_password(admin: Admin) -> None:
    user = admin.browser("u@example.com")
    elsewhere = admin.browser()
    assert elsewhere.sign_in("u@example.com").status_code == 200
    wrong = user.call("PUT", "/session/password", json={"old_password": "nope nope", "new_password": "new password"})
    assert (wrong.status_code, wrong.json()) == (400, {"message": "User's password is incorrect", "code": 18})
    short = user.call("PUT", "/session/password", json={"old_password": PASSWORD, "new_password": "short"})
    assert short.json()["code"] == 26
    changed = user.call("PUT", "/session/password", json={"old_password": PASSWORD, "new_password": "new password"})
    assert changed.status_code == 200
    user.remember(changed)
    assert user.get("/session").status_code == 200  # this browser keeps going, with a new session
    assert elsewhere.get("/session").status_code == 401  # every other session ended
    assert admin.browser().sign_in("u@example.com", "new password").status_code == 200
