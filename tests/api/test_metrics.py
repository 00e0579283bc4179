"""`GET /metrics`: unauthenticated Prometheus text with requests by route template, inference per model,
examples per service, index loads and change-log lag."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from facekeeper.app import create_app
from tests.conftest import Api
from tests.support import squares
from tests.support.squares import GREEN, RED, one_face


def scrape(api: Api) -> str:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels}`; labels given must all match, others may be present."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, number = line.rpartition(" ")
        sample_name, _, label_text = sample.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if sample_name == name and all(found.get(k) == v for k, v in labels.items()):
            return float(number)
    raise AssertionError(f"no sample {name}{labels} in:\n{text}")


def recognize(api: Api, colour: tuple[int, int, int] = RED) -> None:
    response = api.client.post(
        "/api/v1/recognition/recognize", files={"file": ("a.png", one_face(colour))}, headers=api.headers()
    )
    assert response.status_code == 200, response.text


def test_requests_are_counted_by_route_template_not_by_path(api: Api) -> None:
    image_id = api.enrol("Tom", one_face(RED))
    api.client.get(f"/api/v1/recognition/faces/{image_id}/img", headers=api.headers())
    api.client.get("/api/v1/recognition/faces/00000000-0000-0000-0000-000000000000/img", headers=api.headers())
    api.client.get("/no/such/route")
    text = scrape(api)
    route = "/api/v1/recognition/faces/{image_id}/img"
    assert value(text, "facekeeper_http_requests_total", method="GET", route=route, status="200") == 2
    assert value(text, "facekeeper_http_requests_total", method="POST", route="/api/v1/recognition/faces") == 1
    assert value(text, "facekeeper_http_requests_total", route="<unmatched>", status="404") == 1
    assert image_id not in text and api.recognition_key not in text
    assert value(text, "facekeeper_http_request_duration_seconds_count", method="GET", route=route) == 2


def test_errors_are_counted_with_their_status(api: Api) -> None:
    api.client.get("/api/v1/recognition/subjects", headers={"x-api-key": "not-a-uuid"})
    text = scrape(api)
    assert value(text, "facekeeper_http_requests_total", route="/api/v1/recognition/subjects", status="400") == 1


def test_inference_time_per_model(api: Api) -> None:
    api.enrol("Tom", one_face(RED))
    recognize(api)
    text = scrape(api)
    assert value(text, "facekeeper_inference_seconds_count", model="detector") == 2
    assert value(text, "facekeeper_inference_seconds_count", model="calculator") == 2


def test_index_loads_examples_and_lag(api: Api) -> None:
    text = scrape(api)
    assert value(text, "facekeeper_index_loads_total", kind="full") == 0
    api.enrol("Tom", one_face(RED))
    recognize(api)  # first use: one full load
    api.enrol("Ann", one_face(GREEN))  # applied in place by the writer
    recognize(api, GREEN)
    text = scrape(api)
    assert value(text, "facekeeper_index_loads_total", kind="full") == 1
    assert value(text, "facekeeper_index_loads_total", kind="incremental") == 0
    assert value(text, "facekeeper_examples", service="rec") == 2
    assert value(text, "facekeeper_change_log_lag_entries", service="rec") == 0
    assert value(text, "facekeeper_index_memory_bytes", service="rec") > 0


def test_metrics_need_no_key_and_each_app_counts_its_own(api: Api, tmp_path: Path) -> None:
    for _ in range(3):
        assert api.client.get("/metrics", headers={}).status_code == 200
    with TestClient(create_app(squares.test_settings(data_dir=tmp_path / "other"), squares.registry())) as other:
        other.get("/metrics")
        assert value(other.get("/metrics").text, "facekeeper_http_requests_total", route="/metrics") == 1
    assert value(scrape(api), "facekeeper_http_requests_total", route="/metrics") == 3
