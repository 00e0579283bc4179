"""Deadlines and abandoned requests (issue 9, finding 2): a request that outlives `request_timeout_s` gets
a JSON 503, a stalled body a JSON 408, and work whose client has gone is dropped before it starts."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from facekeeper.app import create_app
from facekeeper.inference.base import Detection
from facekeeper.inference.registry import ModelRegistry, default_registry
from tests.conftest import Api
from tests.support import squares
from tests.support.raw_asgi import body_then_disconnect, http_scope
from tests.support.squares import RED, SquareDetector, one_face

DETECT = "/api/v1/detection/detect"


class GatedDetector(SquareDetector):
    """The square detector, but each call waits for the test to open the gate, and is counted."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        self.calls += 1
        self.gate.wait(10)
        return super().detect(image_rgb)


@pytest.fixture
def gated() -> GatedDetector:
    return GatedDetector()


def _registry(detector: GatedDetector) -> ModelRegistry:
    def add_gated(registry: ModelRegistry) -> None:
        registry.add_detector("gated", lambda _settings: detector)

    return default_registry(extra_hooks=[squares.add_to, add_gated])


@pytest.fixture
def gated_api(tmp_path: Path, gated: GatedDetector) -> Iterator[Api]:
    settings = squares.test_settings(data_dir=tmp_path, detector="gated", request_timeout_s=1.0, body_timeout_s=0.5)
    with TestClient(create_app(settings, _registry(gated))) as client:
        yield Api(client)
    gated.gate.set()


@pytest.fixture
def patient_api(tmp_path: Path, gated: GatedDetector) -> Iterator[Api]:
    """A request deadline far beyond what the test waits for: with 1 s (`gated_api`), a loaded machine reached
    the deadline before a 0.5 s body timeout and answered 503 instead of 408 (CI, stop 14)."""
    settings = squares.test_settings(data_dir=tmp_path, detector="gated", request_timeout_s=30.0, body_timeout_s=0.5)
    with TestClient(create_app(settings, _registry(gated))) as client:
        yield Api(client)
    gated.gate.set()


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "deadline-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _scope(api: Api, path: str, content_type: str, length: int) -> dict[str, Any]:
    return http_scope("POST", path, {"x-api-key": api.detection_key, "content-type": content_type}, length)


def test_a_request_past_its_deadline_gets_a_json_503(gated_api: Api, gated: GatedDetector) -> None:
    started = time.monotonic()
    response = gated_api.client.post(
        DETECT, files={"file": ("p.png", one_face(RED))}, headers=gated_api.headers(gated_api.detection_key)
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"message": "The request was not answered within 1 s; try again later", "code": 0}
    assert response.headers["retry-after"] == "5"
    assert elapsed < 8, "answered at the deadline, not when the model finished"


def test_work_of_a_client_that_left_is_dropped_before_it_starts(patient_api: Api, gated: GatedDetector) -> None:
    """Issue 9: two abandoned uploads held the workers; the next detect waited 33 s. With one inference
    worker busy, a second request whose client disconnects must never reach the model."""
    body, content_type = _multipart(one_face(RED))
    sent: list[Message] = []

    async def scenario() -> None:
        done = anyio.Event()

        async def first_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def first_send(message: Message) -> None:
            sent.append(message)

        client_left = anyio.Event()
        second_receive = body_then_disconnect(body, client_left)

        async def second_send(message: Message) -> None:
            raise AssertionError(f"nobody is there to answer: {message}")

        app = patient_api.client.app

        async def first() -> None:
            await app(_scope(patient_api, DETECT, content_type, len(body)), first_receive, first_send)

        async def second() -> None:
            await app(_scope(patient_api, DETECT, content_type, len(body)), second_receive, second_send)

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            with anyio.fail_after(8):
                while gated.calls == 0:  # until the first request holds the only inference worker
                    await anyio.sleep(0.02)
            group.start_soon(second)
            await anyio.sleep(0.3)  # the second waits in the queue
            client_left.set()
            await anyio.sleep(0.2)
            gated.gate.set()  # the worker frees up: a queued job would run now
        done.set()

    assert patient_api.client.portal is not None
    patient_api.client.portal.call(scenario)
    time.sleep(0.3)
    assert gated.calls == 1
    assert sent[0]["status"] == 200


def test_a_stalled_body_gets_a_json_408(patient_api: Api) -> None:
    body, content_type = _multipart(one_face(RED))
    sent: list[Message] = []

    async def scenario() -> None:
        chunks = [body[:100]]

        async def receive() -> Message:
            if chunks:
                return {"type": "http.request", "body": chunks.pop(), "more_body": True}
            await anyio.sleep(30)  # the rest never comes
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        await patient_api.client.app(_scope(patient_api, DETECT, content_type, len(body)), receive, send)

    assert patient_api.client.portal is not None
    started = time.monotonic()
    patient_api.client.portal.call(scenario)
    assert time.monotonic() - started < 8
    assert sent[0]["status"] == 408
    answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert answer == {"message": "The request body stalled for more than 0.5 s", "code": 0}


def test_enrolment_waiting_for_the_write_lock_does_not_hold_an_inference_worker(tmp_path: Path) -> None:
    """Issue 9: enrolment's BEGIN IMMEDIATE waited inside an inference worker; with one worker, every
    detect waited behind it. Another process holds SQLite's write lock here while we enrol and detect."""
    settings = squares.test_settings(data_dir=tmp_path, request_timeout_s=60.0)
    with TestClient(create_app(settings, squares.registry())) as client:
        api = Api(client)
        lock = sqlite3.connect(tmp_path / "facekeeper.db", timeout=1, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        enrolled: list[int] = []
        enrolment = threading.Thread(
            target=lambda: enrolled.append(
                client.post(
                    "/api/v1/recognition/faces",
                    params={"subject": "Tom"},
                    files={"file": ("p.png", one_face(RED))},
                    headers=api.headers(),
                ).status_code
            )
        )
        try:
            enrolment.start()
            time.sleep(0.5)  # the enrolment has embedded its face and now waits for the lock
            detected: list[int] = []
            detect = threading.Thread(
                target=lambda: detected.append(
                    client.post(
                        DETECT, files={"file": ("p.png", one_face(RED))}, headers=api.headers(api.detection_key)
                    ).status_code
                )
            )
            detect.start()
            detect.join(timeout=10)
            assert detected == [200], "detect waited behind an enrolment that waits for the database"
            assert enrolment.is_alive() and not enrolled
        finally:
            lock.execute("ROLLBACK")
            lock.close()
            enrolment.join(timeout=20)
        assert enrolled == [201]
