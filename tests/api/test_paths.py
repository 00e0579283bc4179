"""Slash and segment handling never widens a request (issue 9, finding 1).

Every DELETE and PUT route is walked with hostile segments; the collection must come out unchanged.
Names holding `/` stay addressable with `%2F`, and only that one subject is touched.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.support.raw_asgi import raw_request
from tests.support.squares import BLUE_ISH, GREEN, RED, one_face

SUBJECTS = "/api/v1/recognition/subjects"
FACES = "/api/v1/recognition/faces"
HOSTILE_SEGMENTS = ["%2F", "%2f", "", ".", "..", "%2E%2E", "%20", "%09", "%2F%2F", "Alice%2F", "%2FAlice", "Alice%2F.."]


def _collection(api: Api) -> tuple[Any, ...]:
    headers = api.headers()
    subjects = api.client.get(SUBJECTS, headers=headers).json()
    faces = api.client.get(FACES, params={"size": 2000}, headers=headers).json()
    return sorted(subjects["subjects"]), sorted((f["image_id"], f["subject"]) for f in faces["faces"])


def _hostile_paths(api: Api) -> list[tuple[str, str]]:
    """(method, raw path) for every DELETE and PUT route: each parameter replaced by each hostile segment,
    and every path also with a trailing `/`, `//` and `/%2F` (the forms that once meant "all")."""
    found: list[tuple[str, str]] = []
    paths: dict[str, dict[str, Any]] = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for template, operations in paths.items():
        for method in sorted({m.upper() for m in operations} & {"DELETE", "PUT"}):
            if "{" in template:
                prefix, _, rest = template.partition("{")
                suffix = rest.partition("}")[2]
                found += [(method, f"{prefix}{segment}{suffix}") for segment in HOSTILE_SEGMENTS]
                found += [(method, f"{prefix}Alice/x{suffix}")]
            found += [(method, template + tail) for tail in ("/", "//", "/%2F", "/%2F/", "/.", "/..", "/%20")]
    assert {m for m, _ in found} == {"DELETE", "PUT"} and len(found) > 40
    return found


def test_hostile_segments_on_every_delete_and_put_change_nothing(api: Api) -> None:
    api.enrol("Alice", one_face(RED))
    api.enrol("Bob", one_face(GREEN))
    api.client.post(SUBJECTS, json={"subject": "Carol"}, headers=api.headers())
    before = _collection(api)
    assert len(before[0]) == 3 and len(before[1]) == 2
    for method, path in _hostile_paths(api):
        body = b'{"subject": "Renamed"}' if method == "PUT" else b""
        headers = {**api.headers(), "content-type": "application/json"}
        response = raw_request(api.client, method, path, headers, body)
        # the admin routes (tests/admin) ask for a session before anything else
        allowed = (400, 401, 404, 405) if path.startswith("/admin/") else (400, 404, 405)
        assert response.status_code in allowed, (method, path, response.status_code, response.content)
        assert set(response.json()) == {"message", "code"}, (method, path, response.content)
        assert _collection(api) == before, (method, path, response.content)


@pytest.mark.parametrize("path", [f"{SUBJECTS}/", f"{FACES}/", f"{FACES}/?subject=Alice", f"{SUBJECTS}//"])
def test_trailing_slash_never_means_the_whole_collection(api: Api, path: str) -> None:
    api.enrol("Alice", one_face(RED))
    before = _collection(api)
    response = raw_request(api.client, "DELETE", path, api.headers())
    assert response.status_code == 404, response.content
    assert _collection(api) == before


def test_names_with_slashes_are_addressed_exactly(api: Api) -> None:
    """Enrolment accepts any non-blank name (CompreFace); `%2F` in a path is part of the name."""
    for name, colour in (("bob", RED), ("bob/", GREEN), ("/", BLUE_ISH)):
        api.enrol(name, one_face(colour))
    response = raw_request(api.client, "DELETE", f"{SUBJECTS}/bob%2F", api.headers())
    assert (response.status_code, response.json()) == (200, {"subject": "bob/"})
    assert _collection(api)[0] == ["/", "bob"]
    renamed = raw_request(
        api.client,
        "PUT",
        f"{SUBJECTS}/%2F",
        {**api.headers(), "content-type": "application/json"},
        b'{"subject": "slash"}',
    )
    assert (renamed.status_code, renamed.json()) == (200, {"updated": True})
    assert _collection(api)[0] == ["bob", "slash"]
    literal = raw_request(api.client, "DELETE", f"{SUBJECTS}/bob/x", api.headers())
    assert literal.status_code == 404
    assert _collection(api)[0] == ["bob", "slash"]


def test_one_trailing_slash_still_addresses_the_same_item(api: Api) -> None:
    api.enrol("Alice", one_face(RED))
    image_id = api.enrol("Bob", one_face(GREEN))
    assert raw_request(api.client, "DELETE", f"{SUBJECTS}/Alice/", api.headers()).json() == {"subject": "Alice"}
    deleted = raw_request(api.client, "DELETE", f"{FACES}/{image_id}/", api.headers())
    assert deleted.json() == {"image_id": image_id, "subject": "Bob"}


def test_delete_all_without_slash_still_works(api: Api) -> None:
    """D1 and §4.1.5 keep their meaning when spelled as the SDKs spell them."""
    api.enrol("Alice", one_face(RED))
    assert api.client.delete(FACES, headers=api.headers()).json() == {"deleted": 1}
    assert api.client.delete(SUBJECTS, headers=api.headers()).json() == {"deleted": 1}
