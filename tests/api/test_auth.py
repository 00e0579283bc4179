"""API-key checks in CompreFace's order: 20, then 26, then 10 (§2)."""

from __future__ import annotations

import pytest

from tests.conftest import Api

PATHS = [
    ("GET", "/api/v1/recognition/subjects", "Recognition"),
    ("POST", "/api/v1/recognition/recognize", "Recognition"),
    ("GET", "/api/v1/recognition/faces", "Recognition"),
    ("POST", "/api/v1/detection/detect", "Detection"),
    ("POST", "/api/v1/verification/verify", "Verification"),
    ("POST", "/api/v1/verification/embeddings/verify", "Verification"),
]


@pytest.mark.parametrize(("method", "path", "_label"), PATHS)
def test_missing_key(api: Api, method: str, path: str, _label: str) -> None:
    response = api.client.request(method, path)
    assert (response.status_code, response.json()) == (400, {"message": "Missing header: x-api-key", "code": 20})


@pytest.mark.parametrize("key", ["", "abc", "0000000-0000-0000-0000-000000000000", "z" * 36, "1" * 37])
def test_key_not_uuid(api: Api, key: str) -> None:
    response = api.client.get("/api/v1/recognition/subjects", headers={"x-api-key": key})
    assert (response.status_code, response.json()) == (400, {"message": "Service API key should be UUID", "code": 26})


@pytest.mark.parametrize(("method", "path", "label"), PATHS)
def test_unknown_key(api: Api, method: str, path: str, label: str) -> None:
    key = "00000000-0000-4000-8000-000000000000"
    response = api.client.request(method, path, headers={"X-Api-Key": key})
    assert response.status_code == 404
    assert response.json() == {"message": f"{label} service with API Key {key} not found", "code": 10}


def test_key_of_another_type_is_not_found(api: Api) -> None:
    response = api.client.get("/api/v1/recognition/subjects", headers={"x-api-key": api.detection_key})
    assert response.status_code == 404 and response.json()["code"] == 10


def test_keys_are_case_sensitive(api: Api) -> None:
    response = api.client.get("/api/v1/recognition/subjects", headers={"x-api-key": api.recognition_key.upper()})
    assert response.json()["code"] == 10


def test_status_routes_need_no_key(api: Api) -> None:
    assert api.client.get("/api/v1/config").status_code == 200
    assert api.client.get("/api/v1/consistence/status").status_code == 200
