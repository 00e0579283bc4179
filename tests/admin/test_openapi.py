"""OpenAPI describes every admin route the web UI calls (src/facekeeper/web/admin.js is the contract)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.admin.conftest import Admin

WEB = Path(__file__).resolve().parents[2] / "src" / "facekeeper" / "web"
EXPECTED = {
    ("/admin/setup", "get"),
    ("/admin/setup", "post"),
    ("/admin/session", "get"),
    ("/admin/session", "post"),
    ("/admin/session", "delete"),
    ("/admin/session/password", "put"),
    ("/admin/accounts", "get"),
    ("/admin/accounts", "post"),
    ("/admin/accounts/{account_id}/role", "put"),
    ("/admin/accounts/{account_id}", "delete"),
    ("/admin/applications", "get"),
    ("/admin/applications", "post"),
    ("/admin/applications/{application_id}", "get"),
    ("/admin/applications/{application_id}", "patch"),
    ("/admin/applications/{application_id}", "delete"),
    ("/admin/applications/{application_id}/services", "get"),
    ("/admin/applications/{application_id}/services", "post"),
    ("/admin/applications/{application_id}/members", "get"),
    ("/admin/applications/{application_id}/members", "post"),
    ("/admin/applications/{application_id}/members/{account_id}", "put"),
    ("/admin/applications/{application_id}/members/{account_id}", "delete"),
    ("/admin/services/{service_id}", "get"),
    ("/admin/services/{service_id}", "patch"),
    ("/admin/services/{service_id}", "delete"),
    ("/admin/services/{service_id}/key", "post"),
    ("/admin/services/{service_id}/stats", "get"),
    ("/admin/services/{service_id}/migrate", "post"),
    ("/admin/services/{service_id}/migrate", "get"),
    ("/admin/embedders", "get"),
    ("/admin/services/{service_id}/subjects", "get"),
    ("/admin/services/{service_id}/subjects", "post"),
    ("/admin/services/{service_id}/subjects/{subject}", "put"),
    ("/admin/services/{service_id}/subjects/{subject}", "delete"),
    ("/admin/services/{service_id}/examples", "get"),
    ("/admin/services/{service_id}/examples", "post"),
    ("/admin/services/{service_id}/examples/{image_id}", "delete"),
    ("/admin/services/{service_id}/examples/{image_id}/image", "get"),
}


def test_openapi_describes_the_admin_routes(admin_sqlite: Admin) -> None:
    document = admin_sqlite.owner.client.get("/openapi.json").json()
    found = {(path, method) for path, item in document["paths"].items() if path.startswith("/admin") for method in item}
    assert found == EXPECTED
    login = document["paths"]["/admin/session"]["post"]
    assert {"200", "401", "429"} <= set(login["responses"])
    assert "csrf_token" in document["components"]["schemas"]["SessionOut"]["properties"]


def test_the_web_ui_calls_only_described_routes() -> None:
    """Every `call(METHOD, path)` in admin.js matches a described route (ids replaced by placeholders)."""
    source = (WEB / "admin.js").read_text()
    calls = re.findall(r'call\("(\w+)", (?:withQuery\()?[`"]([^`"]+)[`"]', source)
    calls += re.findall(r'request\("(\w+)", "(/admin[^"]+)"', source)
    assert len(calls) >= 25
    templates = {(re.sub(r"\{[^}]+\}", "X", path), method) for path, method in EXPECTED}
    for method, path in calls:
        path = path if path.startswith("/admin") else f"/admin{path}"
        normalised = re.sub(r"\$\{[^}]+\}", "X", path)
        assert (normalised, method.lower()) in templates, (method, path)
