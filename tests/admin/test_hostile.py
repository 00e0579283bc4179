"""Hostile values on admin routes (NUL, odd ids, wrong types) on both backends: a catalogued 4xx that
changes nothing, never "Something went wrong" (the last-resort answer) or a 5xx."""

from __future__ import annotations

from typing import Any

from tests.admin.conftest import Admin
from tests.support.raw_asgi import raw_request

ODD_IDS = ["%00", "a%00b", "..", "%2F", "x" * 300, "00000000-0000-4000-8000-000000000000", "%E2%80%AE"]


def _clean(response: Any, where: object) -> None:
    assert 400 <= response.status_code < 500, (where, response.status_code, response.content)
    assert set(response.json()) == {"message", "code"}, (where, response.content)
    assert response.json()["message"] != "Something went wrong, please try again", (where, response.content)


def test_odd_ids_in_every_admin_path(admin: Admin) -> None:
    owner = admin.owner
    app = admin.application()
    service = admin.service(app["id"])
    for odd in ODD_IDS:
        for method, path in (
            ("GET", f"/applications/{odd}"),
            ("PATCH", f"/applications/{odd}"),
            ("DELETE", f"/applications/{odd}"),
            ("GET", f"/applications/{odd}/members"),
            ("PUT", f"/applications/{app['id']}/members/{odd}"),
            ("DELETE", f"/applications/{app['id']}/members/{odd}"),
            ("GET", f"/services/{odd}"),
            ("POST", f"/services/{odd}/key"),
            ("GET", f"/services/{odd}/stats"),
            ("GET", f"/services/{service['id']}/examples/{odd}/image"),
            ("DELETE", f"/services/{service['id']}/examples/{odd}"),
            ("DELETE", f"/services/{service['id']}/subjects/{odd}"),
            ("PUT", f"/accounts/{odd}/role"),
            ("DELETE", f"/accounts/{odd}"),
        ):
            # raw: httpx would remove `..` segments before sending (and so would a browser)
            headers = {
                "cookie": f"facekeeper_session={owner.client.cookies.get('facekeeper_session')}",
                "x-csrf-token": owner.csrf or "",
                "content-type": "application/json",
            }
            body = b'{"name": "n", "role": "USER", "subject": "s"}'
            response = raw_request(admin.client, method, f"/admin{path}", headers, body)
            if path.endswith("/image") and odd.count("-") == 4:
                assert (response.status_code, response.content) == (200, b"")  # as the face API: no such image
                continue
            _clean(response, (method, path))
    assert owner.ok("GET", f"/services/{service['id']}")["api_key"] == service["api_key"]
    assert [a["name"] for a in owner.ok("GET", "/applications")["applications"]] == ["shop"]


def test_nul_and_wrong_types_in_bodies(admin: Admin) -> None:
    owner = admin.owner
    app = admin.application()
    service = admin.service(app["id"])
    nul = "a\x00b"
    for method, path, body in (
        ("POST", "/applications", {"name": nul}),
        ("PATCH", f"/applications/{app['id']}", {"name": nul}),
        ("POST", f"/applications/{app['id']}/services", {"name": nul, "type": "RECOGNITION"}),
        ("POST", f"/applications/{app['id']}/services", {"name": "ok", "type": nul}),
        ("PATCH", f"/services/{service['id']}", {"name": nul}),
        ("POST", f"/applications/{app['id']}/members", {"email": f"{nul}@example.com", "role": "USER"}),
        ("POST", f"/applications/{app['id']}/members", {"email": "x@example.com", "role": nul}),
        ("POST", "/accounts", {"email": f"{nul}@example.com", "password": "password 1"}),
        ("POST", "/accounts", {"email": "n@example.com", "password": "password 1", "name": nul}),
        ("POST", f"/services/{service['id']}/subjects", {"subject": nul}),
        ("PUT", f"/services/{service['id']}/subjects/x", {"subject": nul}),
        ("POST", "/applications", {"name": ["list"]}),
        ("POST", "/applications", {"name": None}),
        ("POST", f"/applications/{app['id']}/services", {"name": 1, "type": 2}),
    ):
        _clean(owner.call(method, path, json=body), (method, path, body))
    search = owner.get(f"/services/{service['id']}/subjects", params={"search": nul})
    _clean(search, "search")
    _clean(owner.get(f"/services/{service['id']}/examples", params={"subject": nul}), "examples subject")
    browser = admin.browser()
    _clean(browser.sign_in(nul), "sign-in email")
    _clean(browser.client.post("/admin/session", json={"email": 5, "password": None}), "sign-in types")
    _clean(browser.client.post("/admin/session", content=b"{", headers={"content-type": "application/json"}), "json")
    assert [a["name"] for a in owner.ok("GET", "/applications")["applications"]] == ["shop"]
