"""Operating a real Facekeeper: keys changed by the CLI while it runs, several processes on one data
directory, start-up failures, graceful SIGTERM, the access log, request size limits, CORS, OpenAPI."""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import pytest
import requests

from tests.e2e.server import GROUPS, ServerFactory, ServerProcess, face, multipart_image, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.models]

TIMEOUT = 30
MAX_REQUEST = 10 * 1024 * 1024
BOUNDARY = "facekeeper-e2e-boundary"
ACCESS_LINE = re.compile(
    r"facekeeper\.access: (?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+(\.\d+)?)ms$"
)


# --------------------------------------------------------------------------- helpers


def headers(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def enrol(url: str, key: str, subject: str, image: str) -> str:
    response = requests.post(
        f"{url}/api/v1/recognition/faces",
        params={"subject": subject},
        files=multipart_image(face(image)),
        headers=headers(key),
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["image_id"])


def recognize(url: str, key: str, path: Path, **params: Any) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/recognition/recognize",
        params=params,
        files=multipart_image(path),
        headers=headers(key),
        timeout=TIMEOUT,
    )


def best_match(url: str, key: str, image: str) -> dict[str, Any] | None:
    """Top subject for the one face of `image`, None when the collection is empty."""
    response = recognize(url, key, face(image))
    assert response.status_code == 200, response.text
    subjects = response.json()["result"][0]["subjects"]
    return subjects[0] if subjects else None


def subjects_of(url: str, key: str) -> list[str]:
    response = requests.get(f"{url}/api/v1/recognition/subjects", headers=headers(key), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return sorted(response.json()["subjects"])


def assert_unknown_key(url: str, key: str) -> None:
    response = requests.get(f"{url}/api/v1/recognition/subjects", headers=headers(key), timeout=TIMEOUT)
    assert response.status_code == 404, response.text
    assert response.json() == {"message": f"Recognition service with API Key {key} not found", "code": 10}


def multipart_body(data: bytes, filename: str = "face.jpg", part: str = "file") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{part}"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_post(
    port: int, path: str, request_headers: dict[str, str], body: Iterable[bytes], *, chunked: bool
) -> RawResponse:
    """POST with http.client, writing the body from a thread while the answer is read.

    A server that answers 413 before reading the whole body may close the connection while the
    client is still writing; reading concurrently still gets the answer, which is what a client sees.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.putrequest("POST", path, skip_accept_encoding=True)
    for name, value in request_headers.items():
        conn.putheader(name, value)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()

    def write() -> None:
        try:
            for piece in body:
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading: its answer is what counts

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        response = conn.getresponse()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        writer.join(timeout=TIMEOUT)
        conn.close()


ALL_PLUGINS = "age,gender,mask,pose,landmarks,calculator"


def large_group_photo(tmp_path: Path) -> Path:
    """five_faces.jpg scaled up 8x (5120x3416, ~17 MP, under the 5 MB file limit): slow to decode."""
    image = cv2.imread(str(GROUPS / "five_faces.jpg"))
    assert image is not None
    big = cv2.resize(image, None, fx=8, fy=8, interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "five_faces_large.jpg"
    assert cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert path.stat().st_size < 5 * 1024 * 1024
    return path


# --------------------------------------------------------------------------- keys and the CLI


def test_cli_key_changes_apply_to_the_running_server(server: ServerProcess) -> None:
    key = server.create_key("recognition", "ops-lifecycle")
    # Created by another process after start-up: accepted at once, with an empty collection.
    assert subjects_of(server.url, key) == []
    enrol(server.url, key, "Barack Obama", "obama_1.jpg")
    assert best_match(server.url, key, "obama_2.jpg")["subject"] == "Barack Obama"  # type: ignore[index]

    new_key = server.regenerate_key("ops-lifecycle")
    assert new_key != key
    uuid.UUID(new_key)
    assert new_key == new_key.lower()
    assert_unknown_key(server.url, key)
    old = recognize(server.url, key, face("obama_2.jpg"))
    assert old.status_code == 404 and old.json()["code"] == 10
    # Same service, same collection, under the new key.
    assert subjects_of(server.url, new_key) == ["Barack Obama"]
    match = best_match(server.url, new_key, "obama_2.jpg")
    assert match is not None and match["subject"] == "Barack Obama" and match["similarity"] > 0.5

    listed = server.cli_json("service", "list")
    assert {"name": "ops-lifecycle", "type": "recognition", "api_key": new_key, "embedder": "sface"} in listed

    deleted = server.cli_json("service", "delete", "ops-lifecycle")
    assert deleted["name"] == "ops-lifecycle"
    assert_unknown_key(server.url, new_key)
    assert all(s["name"] != "ops-lifecycle" for s in server.cli_json("service", "list"))

    # A new service under the old name starts empty: the deleted collection is gone with its service.
    again = server.create_key("recognition", "ops-lifecycle")
    assert subjects_of(server.url, again) == []
    assert best_match(server.url, again, "obama_2.jpg") is None


def test_key_of_another_service_type_is_refused(server: ServerProcess) -> None:
    detection_key = server.create_key("detection", "ops-detection-only")
    response = recognize(server.url, detection_key, face("obama_1.jpg"))
    assert response.status_code == 404
    assert response.json() == {"message": f"Recognition service with API Key {detection_key} not found", "code": 10}
    detected = requests.post(
        f"{server.url}/api/v1/detection/detect",
        files=multipart_image(face("obama_1.jpg")),
        headers=headers(detection_key),
        timeout=TIMEOUT,
    )
    assert detected.status_code == 200 and len(detected.json()["result"]) == 1


def test_writes_of_another_server_process_are_seen(server: ServerProcess, server_factory: ServerFactory) -> None:
    key = server.create_key("recognition", "ops-shared")
    enrol(server.url, key, "Barack Obama", "obama_1.jpg")
    # The first server now has this collection in memory.
    assert best_match(server.url, key, "biden_2.jpg")["subject"] == "Barack Obama"  # type: ignore[index]

    other = server_factory.start(data_dir=server.data_dir)
    biden_id = enrol(other.url, key, "Joe Biden", "biden_1.jpg")

    match = best_match(server.url, key, "biden_2.jpg")
    assert match is not None and match["subject"] == "Joe Biden" and match["similarity"] > 0.5
    assert subjects_of(server.url, key) == ["Barack Obama", "Joe Biden"]
    listed = requests.get(f"{server.url}/api/v1/recognition/faces", headers=headers(key), timeout=TIMEOUT).json()
    assert biden_id in {f["image_id"] for f in listed["faces"]}

    removed = requests.delete(f"{other.url}/api/v1/recognition/faces/{biden_id}", headers=headers(key), timeout=30)
    assert removed.json() == {"image_id": biden_id, "subject": "Joe Biden"}
    match = best_match(server.url, key, "biden_2.jpg")
    assert match is not None and match["subject"] == "Barack Obama" and match["similarity"] < 0.5
    listed = requests.get(f"{server.url}/api/v1/recognition/faces", headers=headers(key), timeout=TIMEOUT).json()
    assert biden_id not in {f["image_id"] for f in listed["faces"]}

    wiped = requests.delete(f"{other.url}/api/v1/recognition/subjects", headers=headers(key), timeout=TIMEOUT)
    assert wiped.json() == {"deleted": 2}
    assert subjects_of(server.url, key) == []
    assert best_match(server.url, key, "obama_2.jpg") is None

    # Concurrent writes through both processes, new subjects created by both at once: none lost.
    images = ["obama_1.jpg", "biden_1.jpg", "angelina_jolie_1.jpg", "jennifer_aniston_1.jpg"]

    def add(i: int) -> requests.Response:
        return requests.post(
            f"{(server, other)[i % 2].url}/api/v1/recognition/faces",
            params={"subject": f"Person {i % 4}"},
            files=multipart_image(face(images[i % 4])),
            headers=headers(key),
            timeout=TIMEOUT,
        )

    with ThreadPoolExecutor(6) as pool:
        added = list(pool.map(add, range(12)))
    assert [r.status_code for r in added] == [201] * 12, [r.text for r in added if r.status_code != 201]
    for process in (server, other):
        assert subjects_of(process.url, key) == [f"Person {i}" for i in range(4)]
        page = requests.get(
            f"{process.url}/api/v1/recognition/faces", params={"size": 100}, headers=headers(key), timeout=TIMEOUT
        ).json()
        assert page["total_elements"] == 12
        assert {f["image_id"] for f in page["faces"]} == {r.json()["image_id"] for r in added}
        recognized = recognize(process.url, key, face("obama_2.jpg"), prediction_count=100)
        matches = recognized.json()["result"][0]["subjects"]
        assert len(matches) == 12
        assert [m["subject"] for m in matches[:3]] == ["Person 0"] * 3
    other.stop()


# --------------------------------------------------------------------------- start-up failures


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("facekeeper: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "listening" not in result.stdout


def test_port_already_in_use(server: ServerProcess, tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--host", "127.0.0.1", "--port", str(server.port), "--data-dir", str(tmp_path / "data"), timeout=60
    )
    assert_one_line_error(result, f"127.0.0.1:{server.port}", "in use")
    # The server that owns the port is untouched.
    assert requests.get(f"{server.url}/api/v1/config", timeout=TIMEOUT).status_code == 200


def test_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    """Tests run as root, so permissions would not stop the server: the parent is a regular file."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file, not a directory")
    data_dir = blocker / "data"
    serve = run_cli("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir), timeout=60)
    assert_one_line_error(serve, str(data_dir), "not writable")
    create = run_cli("service", "create", "--type", "recognition", "--name", "x", "--data-dir", str(data_dir))
    assert_one_line_error(create, str(data_dir), "not writable")


# --------------------------------------------------------------------------- graceful shutdown


def test_sigterm_lets_in_flight_requests_finish(server_factory: ServerFactory, tmp_path: Path) -> None:
    victim = server_factory.start()
    key = victim.create_key("recognition", "ops-sigterm")
    enrol(victim.url, key, "Barack Obama", "obama_1.jpg")  # also loads the models
    big = large_group_photo(tmp_path)

    # 1. Slow requests whose bodies are all sent: several large images at once, with every plugin (decoding
    # alone became too fast to keep three in flight), queued on 2 cores.
    def slow_recognize() -> requests.Response:
        return recognize(victim.url, key, big, face_plugins=ALL_PLUGINS)

    with ThreadPoolExecutor(10) as pool:
        pending = [pool.submit(slow_recognize) for _ in range(8)]
        time.sleep(0.5)  # all three uploaded; they queue on the 2 inference workers
        assert not all(f.done() for f in pending), "too fast to be in flight: make the image larger"
        # 2. A request still uploading when SIGTERM arrives: headers and half the body now, the rest after.
        half = threading.Event()
        body = multipart_body(face("obama_2.jpg").read_bytes(), "obama_2.jpg")

        def held_back() -> Iterator[bytes]:
            yield body[: len(body) // 2]
            half.set()
            time.sleep(1.0)
            yield body[len(body) // 2 :]

        uploading = pool.submit(
            raw_post,
            victim.port,
            "/api/v1/recognition/recognize",
            {"x-api-key": key, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            held_back(),
            chunked=True,
        )
        assert half.wait(TIMEOUT)
        time.sleep(0.3)  # let the server read what has been sent
        sent_at = time.monotonic()
        victim.terminate()
        time.sleep(0.2)
        with pytest.raises(requests.ConnectionError):  # draining: no new connections
            requests.get(f"{victim.url}/api/v1/config", timeout=TIMEOUT)

        for future in pending:
            answer = future.result(timeout=TIMEOUT)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()["result"]) == 5
        late = uploading.result(timeout=TIMEOUT)
        assert late.status == 200, late.body
        assert json.loads(late.body)["result"][0]["subjects"][0]["subject"] == "Barack Obama"

    assert victim.process is not None
    # Within the documented bound (shutdown_timeout_s, 30 s), by itself and cleanly, once drained. Draining
    # eight large all-plugin recognitions took 12 s with another test run on the same 2 cores.
    assert victim.process.wait(timeout=30) == 0, "exits by itself, cleanly, once drained"
    assert time.monotonic() - sent_at < 30
    # Answered after the shutdown began (the held-back upload at least; how many of the large ones were
    # still queued depends on the machine's speed), and logged.
    log = victim.stderr().splitlines()
    shutdown = next(i for i, line in enumerate(log) if "Shutting down" in line)
    drained = [line for line in log[shutdown:] if "POST /api/v1/recognition/recognize 200" in line]
    assert len(drained) >= 1, log
    assert "Finished server process" in victim.stderr()
    assert "Traceback" not in victim.stderr()


def test_sigterm_exit_status_is_zero(server_factory: ServerFactory) -> None:
    stopped = server_factory.start()
    stopped.terminate()
    assert stopped.process is not None
    status = stopped.process.wait(timeout=10)
    assert "Finished server process" in stopped.stderr()
    assert status == 0


def test_ctrl_c_stops_without_traceback(server_factory: ServerFactory) -> None:
    stopped = server_factory.start()
    assert stopped.process is not None
    stopped.process.send_signal(signal.SIGINT)
    status = stopped.process.wait(timeout=10)
    assert "Finished server process" in stopped.stderr()
    assert "Traceback" not in stopped.stderr()
    assert status == 0


# --------------------------------------------------------------------------- request size, chunked bodies


def test_chunked_upload_is_accepted(server: ServerProcess, recognition_key: str) -> None:
    enrol(server.url, recognition_key, "Barack Obama", "obama_1.jpg")
    body = multipart_body(face("obama_2.jpg").read_bytes(), "obama_2.jpg")
    response = requests.post(
        f"{server.url}/api/v1/recognition/recognize",
        data=chunks(body, 4096),  # a generator: requests sends Transfer-Encoding: chunked, no Content-Length
        headers={**headers(recognition_key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=TIMEOUT,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 200, response.text
    best = response.json()["result"][0]["subjects"][0]
    assert best["subject"] == "Barack Obama" and best["similarity"] > 0.5

    # Chunked JSON (Base64) works as well.
    payload = b'{"file": "' + base64.b64encode(face("obama_2.jpg").read_bytes()) + b'"}'
    as_json = raw_post(
        server.port,
        "/api/v1/recognition/recognize",
        {**headers(recognition_key), "Content-Type": "application/json"},
        chunks(payload, 1000),
        chunked=True,
    )
    assert as_json.status == 200, as_json.body
    assert b"Barack Obama" in as_json.body


def test_chunked_body_over_the_limit_gets_413(server: ServerProcess, recognition_key: str) -> None:
    body = multipart_body(b"\xff" * (MAX_REQUEST + 512 * 1024))
    response = raw_post(
        server.port,
        "/api/v1/recognition/recognize",
        {**headers(recognition_key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        chunks(body),
        chunked=True,
    )
    assert response.status == 413, response.body
    assert response.headers["content-type"].startswith("application/json")
    error = json.loads(response.body)
    assert set(error) == {"message", "code"} and error["code"] == 0
    assert str(MAX_REQUEST) in error["message"]
    assert requests.get(f"{server.url}/api/v1/config", timeout=TIMEOUT).status_code == 200


def test_declared_body_over_the_limit_gets_413(server: ServerProcess, recognition_key: str) -> None:
    body = multipart_body(b"\xff" * (MAX_REQUEST + 512 * 1024))
    response = raw_post(
        server.port,
        "/api/v1/recognition/faces?subject=Big",
        {
            **headers(recognition_key),
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(body)),
        },
        chunks(body),
        chunked=False,
    )
    assert response.status == 413, response.body
    assert response.headers["content-type"].startswith("application/json")
    error = json.loads(response.body)
    assert set(error) == {"message", "code"} and error["code"] == 0
    assert response.headers.get("access-control-allow-origin") == "*"
    assert "Big" not in subjects_of(server.url, recognition_key)


def test_file_over_max_file_size_in_a_body_under_the_limit(server: ServerProcess, recognition_key: str) -> None:
    """D4: a 6 MB file inside an 6 MB body is 400 code 0 naming the 5 MB file limit, not 413."""
    body = multipart_body(b"\xff" * (6 * 1024 * 1024))
    response = raw_post(
        server.port,
        "/api/v1/recognition/recognize",
        {**headers(recognition_key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        chunks(body),
        chunked=True,
    )
    assert response.status == 400, response.body
    error = json.loads(response.body)
    assert error["code"] == 0 and str(5 * 1024 * 1024) in error["message"]


# --------------------------------------------------------------------------- CORS and OpenAPI


def test_cors(server: ServerProcess, recognition_key: str) -> None:
    preflight = requests.options(
        f"{server.url}/api/v1/recognition/recognize",
        headers={
            "Origin": "http://dashboard.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key,content-type",
        },
        timeout=TIMEOUT,
    )
    assert preflight.status_code == 204
    assert preflight.content == b""
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"]

    ok = requests.get(f"{server.url}/api/v1/recognition/subjects", headers=headers(recognition_key), timeout=TIMEOUT)
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"
    recognized = recognize(server.url, recognition_key, face("obama_2.jpg"))
    assert recognized.status_code == 200 and recognized.headers["Access-Control-Allow-Origin"] == "*"
    refused = requests.get(f"{server.url}/api/v1/recognition/subjects", timeout=TIMEOUT)
    assert refused.status_code == 400 and refused.json()["code"] == 20
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


SPEC_ROUTES = {  # spec §4.0 rows 1-21
    ("POST", "/api/v1/recognition/subjects"),
    ("GET", "/api/v1/recognition/subjects"),
    ("PUT", "/api/v1/recognition/subjects/{}"),
    ("DELETE", "/api/v1/recognition/subjects/{}"),
    ("DELETE", "/api/v1/recognition/subjects"),
    ("POST", "/api/v1/recognition/faces"),
    ("GET", "/api/v1/recognition/faces"),
    ("DELETE", "/api/v1/recognition/faces"),
    ("DELETE", "/api/v1/recognition/faces/{}"),
    ("POST", "/api/v1/recognition/faces/delete"),
    ("GET", "/api/v1/recognition/faces/{}/img"),
    ("GET", "/api/v1/static/{}/images/{}"),
    ("POST", "/api/v1/recognition/recognize"),
    ("POST", "/api/v1/recognition/embeddings/recognize"),
    ("POST", "/api/v1/recognition/faces/{}/verify"),
    ("POST", "/api/v1/recognition/embeddings/faces/{}/verify"),
    ("POST", "/api/v1/detection/detect"),
    ("POST", "/api/v1/verification/verify"),
    ("POST", "/api/v1/verification/embeddings/verify"),
    ("GET", "/api/v1/config"),
    ("GET", "/api/v1/consistence/status"),
}


def test_openapi_lists_every_compreface_route(server: ServerProcess) -> None:
    response = requests.get(f"{server.url}/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "delete", "patch"}
    }
    missing = SPEC_ROUTES - documented
    assert not missing, f"routes missing from /openapi.json: {sorted(missing)}"
    # The key-protected routes document their parameters, e.g. recognize's query options.
    recognize_doc = document["paths"]["/api/v1/recognition/recognize"]["post"]
    assert {"limit", "prediction_count", "det_prob_threshold", "face_plugins", "status"} <= {
        p["name"] for p in recognize_doc.get("parameters", [])
    }
    assert "multipart/form-data" in recognize_doc["requestBody"]["content"]

    docs = requests.get(f"{server.url}/docs", timeout=TIMEOUT)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower() and "/openapi.json" in docs.text


# --------------------------------------------------------------------------- the access log (keep last)


def test_access_log_one_masked_line_per_request(server: ServerProcess, recognition_key: str) -> None:
    """Runs last in this module so it can check every key issued so far never reached the log."""
    image = face("jennifer_aniston_1.jpg").read_bytes()
    image_id = enrol(server.url, recognition_key, "Jennifer Aniston", "jennifer_aniston_1.jpg")
    as_json = requests.post(
        f"{server.url}/api/v1/recognition/recognize",
        json={"file": base64.b64encode(face("jennifer_aniston_2.jpg").read_bytes()).decode()},
        headers=headers(recognition_key),
        timeout=TIMEOUT,
    )
    assert as_json.status_code == 200
    static = f"/api/v1/static/{recognition_key}/images/{image_id}"
    for suffix in ("", "", "/"):
        fetched = requests.get(f"{server.url}{static}{suffix}", timeout=TIMEOUT)
        assert fetched.status_code == 200 and fetched.content == image
    unknown = str(uuid.uuid4())
    refused = requests.get(f"{server.url}/api/v1/recognition/subjects", headers=headers(unknown), timeout=TIMEOUT)
    assert refused.status_code == 404
    time.sleep(0.2)  # the log line is written as the response completes

    log = server.stderr_path.read_bytes() + server.stdout_path.read_bytes()
    text = log.decode(errors="replace")
    for key in [*server.issued_keys, unknown]:
        assert key not in text, f"full API key {key} in the server log"
    # No image bytes, raw or Base64.
    assert image[1000:1032] not in log
    assert base64.b64encode(face("jennifer_aniston_2.jpg").read_bytes())[:40] not in log
    assert max(len(line) for line in text.splitlines()) < 500

    lines = server.access_lines()
    parsed = [ACCESS_LINE.search(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m]
    entries = [(m["method"], m["path"], m["status"]) for m in parsed if m]
    masked = f"/api/v1/static/{recognition_key[:8]}…/images/{image_id}"
    assert entries.count(("GET", masked, "200")) == 2
    assert entries.count(("GET", masked + "/", "200")) == 1
    assert entries.count(("POST", "/api/v1/recognition/faces", "201")) >= 1
    assert ("POST", "/api/v1/recognition/recognize", "200") in entries
    assert ("GET", "/api/v1/recognition/subjects", "404") in entries
    assert all(float(m["ms"]) >= 0 for m in parsed if m)
