"""The web UI's files: served at `/` and `/ui/`, with safe headers, and a module graph that resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facekeeper.api.web import packaged_web_folder
from tests.conftest import Api

WEB = packaged_web_folder()
MODULES = sorted(path.relative_to(WEB).as_posix() for path in WEB.rglob("*.js"))
IMPORT = re.compile(r"""(?:import|export)\s[^"';]*?from\s+["']([^"']+)["']""")


def _assert_safe_headers(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-cache"
    assert not any(name.startswith("access-control-") for name in headers), "the UI must not be cross-origin"


def test_root_serves_the_page(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    _assert_safe_headers(response.headers)
    assert '<script type="module" src="/ui/main.js"></script>' in response.text


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("main.js", "text/javascript; charset=utf-8"),
        ("pages/test.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_content_type(api: Api, name: str, content_type: str) -> None:
    response = api.client.get(f"/ui/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (WEB / name).read_bytes()
    _assert_safe_headers(response.headers)


def test_unchanged_file_is_a_304(api: Api) -> None:
    etag = api.client.get("/ui/main.js").headers["etag"]
    response = api.client.get("/ui/main.js", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert api.client.get("/ui/main.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_head_gives_length_without_body(api: Api) -> None:
    response = api.client.head("/")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len((WEB / "index.html").read_bytes())


@pytest.mark.parametrize(
    "path", ["/ui/nothing.js", "/ui/../app.py", "/ui/%2e%2e/settings.py", "/ui/pages", "/ui/", "/ui/README"]
)
def test_only_known_files_are_served(api: Api, path: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == 0


def test_wrong_method_keeps_the_compreface_405(api: Api) -> None:
    response = api.client.post("/")
    assert response.status_code == 405
    assert response.json() == {"message": "Request method 'POST' not supported", "code": 0}


def test_face_api_keeps_cors_and_its_json_errors(api: Api) -> None:
    response = api.client.get("/api/v1/recognition/recognize")
    assert response.status_code == 405 and response.headers["access-control-allow-origin"] == "*"
    assert "content-security-policy" not in response.headers


def test_html_has_no_inline_script_or_handlers() -> None:
    for path in WEB.rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script in {path.name}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler in {path.name}"
        assert "javascript:" not in html


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_resolve(module: str) -> None:
    """A typo in an import path breaks the whole page in the browser; catch it without one."""
    source = (WEB / module).read_text()
    for target in IMPORT.findall(source):
        assert target.startswith("./") or target.startswith("../"), f"{module} imports {target}: no bare modules"
        assert ((WEB / module).parent / target).resolve().is_file(), f"{module} imports missing {target}"


@pytest.mark.parametrize("module", MODULES)
def test_modules_never_write_html(module: str) -> None:
    """Subject names and error messages come from users; they go in as text, never as markup."""
    source = (WEB / module).read_text()
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", source)
    assert "eval(" not in source and "new Function" not in source


def test_every_served_file_is_package_data() -> None:
    """Files in a subfolder of web/ reach the wheel only if pyproject's package-data names the folder."""
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for folder in {path.parent.relative_to(WEB.parent).as_posix() for path in WEB.rglob("*") if path.is_file()}:
        assert f'"{folder}/*"' in pyproject, f"{folder}/* is missing from package-data"
