"""§9.2 roles enforced on every admin route: global roles, application roles, and access ending at once."""

from __future__ import annotations

from typing import Any

from facekeeper.domain import Role
from tests.admin.conftest import Admin, Browser
from tests.support import squares


def _routes(app_id: str, service_id: str, member_id: str) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Admin routes by the least application role they need (members and renames need OWNER)."""
    return {
        "USER": [
            ("GET", f"/applications/{app_id}", {}),
            ("GET", f"/applications/{app_id}/services", {}),
            ("GET", f"/applications/{app_id}/members", {}),
            ("GET", f"/services/{service_id}", {}),
            ("GET", f"/services/{service_id}/stats", {}),
            ("GET", f"/services/{service_id}/subjects", {}),
            ("GET", f"/services/{service_id}/examples", {}),
        ],
        "ADMINISTRATOR": [
            ("POST", f"/applications/{app_id}/services", {"json": {"name": "new", "type": "DETECTION"}}),
            ("PATCH", f"/services/{service_id}", {"json": {"name": "renamed"}}),
            ("POST", f"/services/{service_id}/key", {}),
            ("POST", f"/services/{service_id}/subjects", {"json": {"subject": "Ada"}}),
            ("PUT", f"/services/{service_id}/subjects/Ada", {"json": {"subject": "Bob"}}),
            ("DELETE", f"/services/{service_id}/subjects/Bob", {}),
            (
                "POST",
                f"/services/{service_id}/examples",
                {"data": {"subject": "Cy"}, "files": {"file": ("a.png", squares.one_face(), "image/png")}},
            ),
        ],
        "OWNER": [
            ("PATCH", f"/applications/{app_id}", {"json": {"name": "Renamed"}}),
            ("POST", f"/applications/{app_id}/members", {"json": {"email": "owner@example.com", "role": "USER"}}),
            ("PUT", f"/applications/{app_id}/members/{member_id}", {"json": {"role": "USER"}}),
        ],
    }


def _denied(browser: Browser, method: str, path: str, kwargs: dict[str, Any]) -> None:
    response = browser.call(method, path, **kwargs)
    assert (response.status_code, response.json()) == (403, {"message": "Access denied", "code": 1}), (
        method,
        path,
        response.text,
    )


def test_application_roles(admin: Admin) -> None:
    app = admin.application()
    service = admin.service(app["id"])
    path = f"/applications/{app['id']}/members"
    browsers = {}
    for role in ("USER", "ADMINISTRATOR"):
        email = f"{role.lower()}@example.com"
        browsers[role] = admin.browser(email)
        admin.owner.ok("POST", path, 201, json={"email": email, "role": role})
    target = admin.services.accounts.create("target@example.com", "password 1", Role.USER)
    admin.owner.ok("POST", path, 201, json={"email": "target@example.com", "role": "USER"})
    routes = _routes(app["id"], service["id"], target.id)
    for role, browser in browsers.items():
        assert browser.ok("GET", f"/applications/{app['id']}")["role"] == role
        allowed = ["USER"] if role == "USER" else ["USER", "ADMINISTRATOR"]
        for need, listed in routes.items():
            for method, route, kwargs in listed:
                if need in allowed:
                    response = browser.call(method, route, **kwargs)
                    assert response.status_code < 300, (role, method, route, response.text)
                else:
                    _denied(browser, method, route, kwargs)
    _denied(browsers["USER"], "DELETE", f"/services/{service['id']}", {})  # administrators may
    for browser in browsers.values():
        _denied(browser, "DELETE", f"/applications/{app['id']}", {})
        _denied(browser, "POST", "/applications", {"json": {"name": "mine"}})  # global USERs create none
    assert browsers["ADMINISTRATOR"].ok("DELETE", f"/services/{service['id']}")["id"] == service["id"]


def test_a_user_cannot_touch_another_applications_services(admin: Admin) -> None:
    mine = admin.application("Mine")
    theirs = admin.application("Theirs")
    my_service = admin.service(mine["id"], "mine")
    their_service = admin.service(theirs["id"], "theirs")
    user = admin.browser("user@example.com")
    admin.owner.ok(
        "POST", f"/applications/{mine['id']}/members", 201, json={"email": "user@example.com", "role": "OWNER"}
    )
    assert [a["name"] for a in user.ok("GET", "/applications")["applications"]] == ["Mine"]
    assert user.ok("GET", f"/services/{my_service['id']}")["name"] == "mine"
    routes = _routes(theirs["id"], their_service["id"], "x")
    for listed in routes.values():
        for method, route, kwargs in listed:
            _denied(user, method, route, kwargs)
    _denied(user, "DELETE", f"/services/{their_service['id']}", {})
    _denied(user, "DELETE", f"/applications/{theirs['id']}", {})
    _denied(user, "GET", f"/services/{their_service['id']}/examples/00000000-0000-4000-8000-000000000000/image", {})
    assert admin.owner.ok("GET", f"/services/{their_service['id']}")["api_key"] == their_service["api_key"]


def test_a_removed_member_loses_access_at_once(admin: Admin) -> None:
    app = admin.application()
    service = admin.service(app["id"])
    user = admin.browser("user@example.com")
    path = f"/applications/{app['id']}/members"
    member = admin.owner.ok("POST", path, 201, json={"email": "user@example.com", "role": "ADMINISTRATOR"})
    assert user.ok("GET", f"/services/{service['id']}")["api_key"] == service["api_key"]
    admin.owner.ok("DELETE", f"{path}/{member['account_id']}")
    _denied(user, "GET", f"/services/{service['id']}", {})
    _denied(user, "POST", f"/services/{service['id']}/key", {})
    assert user.ok("GET", "/applications") == {"applications": []}


def test_a_lowered_role_counts_at_once(admin: Admin) -> None:
    app = admin.application()
    service = admin.service(app["id"])
    user = admin.browser("user@example.com")
    path = f"/applications/{app['id']}/members"
    member = admin.owner.ok("POST", path, 201, json={"email": "user@example.com", "role": "ADMINISTRATOR"})
    user.ok("PATCH", f"/services/{service['id']}", json={"name": "by-user"})
    admin.owner.ok("PUT", f"{path}/{member['account_id']}", json={"role": "USER"})
    _denied(user, "PATCH", f"/services/{service['id']}", {"json": {"name": "again"}})


def test_global_administrators_act_as_owners_of_every_application(admin: Admin) -> None:
    app = admin.application()
    service = admin.service(app["id"])
    boss = admin.browser("boss@example.com", Role.ADMINISTRATOR)
    assert [(a["name"], a["role"]) for a in boss.ok("GET", "/applications")["applications"]] == [("shop", "OWNER")]
    boss.ok("POST", f"/services/{service['id']}/key")
    created = boss.ok("POST", "/applications", 201, json={"name": "boss app"})
    members = boss.ok("GET", f"/applications/{created['id']}/members")["members"]
    assert [(m["email"], m["role"]) for m in members] == [("boss@example.com", "OWNER")]
    admin.services.accounts.set_role("boss@example.com", Role.USER)  # demoted: counts at the next request
    _denied(boss, "GET", f"/services/{service['id']}", {})
    assert boss.ok("GET", f"/applications/{created['id']}")["role"] == "OWNER"  # still its member
