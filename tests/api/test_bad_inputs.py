"""The bad-input corpus: every malformed request gets a CompreFace-shaped 4xx and changes nothing."""

from __future__ import annotations

import base64
import functools
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Api
from tests.support.hostile_images import EPS, NOT_ALLOWED, jpeg_scan_bomb, truncated_jpeg_with_end_marker
from tests.support.squares import GREEN, RED, ColourEmbedder, image, one_face

ADD = "/api/v1/recognition/faces"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@functools.cache
def _bomb() -> bytes:
    """A tiny PNG that decodes to 400 million pixels."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")
    return buffer.getvalue()


def _truncated() -> bytes:
    data = image([(60, 50, 80, RED)], fmt="JPEG")
    return data[: len(data) // 2]


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[Api], Any]
    status: int
    code: int
    message: str | None = None


def _add(api: Api, files: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("params", {"subject": "Eve"})
    kwargs.setdefault("headers", api.headers())
    return api.client.post(ADD, files=files, **kwargs)


def _recognize(api: Api, params: dict[str, str]) -> Any:
    return api.client.post(
        "/api/v1/recognition/recognize", params=params, files=_file(one_face()), headers=api.headers()
    )


def _file(data: bytes, name: str = "x.png") -> dict[str, tuple[str, bytes]]:
    return {"file": (name, data)}


NO_FACE = "No face is found in the given image"
DIMENSION = ColourEmbedder.dimension  # the fake calculator's
NOT_AN_IMAGE = "The file is not an image in an allowed format (jpeg, png, gif, bmp, tiff, webp, ico)"
NUL_NAME = "Subject name cannot contain the NUL character"
SUBJECTS = "/api/v1/recognition/subjects"
EMBEDDINGS = "/api/v1/recognition/embeddings/recognize"
VERIFY_EMBEDDINGS = "/api/v1/verification/embeddings/verify"


@functools.cache
def _scan_bomb() -> bytes:
    return jpeg_scan_bomb(side=512, scans=20_000)


def _add_base64(api: Api, data: bytes) -> Any:
    return api.client.post(
        ADD, params={"subject": "E"}, json={"file": base64.b64encode(data).decode()}, headers=api.headers()
    )


def _json(api: Api, url: str, body: bytes, method: str = "POST", key: str | None = None) -> Any:
    headers = {**api.headers(key), "content-type": "application/json"}
    return api.client.request(method, url, content=body, headers=headers)


def _embeddings(api: Api, rows: list[list[Any]]) -> Any:
    return _json(api, EMBEDDINGS, json.dumps({"embeddings": rows}).encode())


@functools.cache
def _one_value_targets() -> bytes:
    """Issue 9's 9.6 MB body: 2.4 M targets of one value each (it blocked the event loop for 32 s)."""
    return b'{"source": [1], "targets": [' + b",".join([b"[1]"] * 2_400_000) + b"]}"


CASES = [
    Case("no key", lambda a: _add(a, _file(one_face()), headers={}), 400, 20, "Missing header: x-api-key"),
    Case("key not uuid", lambda a: _add(a, _file(one_face()), headers={"x-api-key": "k"}), 400, 26),
    Case("unknown key", lambda a: _add(a, _file(one_face()), headers={"x-api-key": UNKNOWN_ID}), 404, 10),
    Case("detection key", lambda a: _add(a, _file(one_face()), headers=a.headers(a.detection_key)), 404, 10),
    Case("no file part", lambda a: _add(a, {"other": ("x.png", one_face())}), 400, 34, "Required part file is missing"),
    Case("file as text field", lambda a: _add(a, {"other": ("x.png", b"1")}, data={"file": "abc"}), 400, 34),
    Case("empty file", lambda a: _add(a, _file(b"")), 400, 28, NO_FACE),
    Case("text bytes", lambda a: _add(a, _file(b"hello, I am not an image")), 400, 28, NOT_AN_IMAGE),
    Case("eps named x.jpg", lambda a: _add(a, _file(EPS, "x.jpg")), 400, 28, NOT_AN_IMAGE),
    Case("eps as base64", lambda a: _add_base64(a, EPS), 400, 28, NOT_AN_IMAGE),
    Case("avif as base64", lambda a: _add_base64(a, NOT_ALLOWED["avif"]), 400, 28, NOT_AN_IMAGE),
    Case("jp2 as base64", lambda a: _add_base64(a, NOT_ALLOWED["jp2"]), 400, 28, NOT_AN_IMAGE),
    Case("jpeg scan bomb", lambda a: _add(a, _file(_scan_bomb(), "x.jpg")), 400, 0),
    Case(
        "truncated jpeg, end marker appended",
        lambda a: _add(a, _file(truncated_jpeg_with_end_marker(), "x.jpg")),
        400,
        28,
    ),
    Case(
        "deeply nested json",
        lambda a: _json(a, ADD, b"[" * 1_060 + b"]" * 1_060),
        400,
        26,
        "The JSON body is nested too deeply",
    ),
    Case(
        "millions of tiny lists",
        lambda a: _json(a, ADD, b"[" + b"[1]," * 2_000_000 + b"[1]]"),
        400,
        26,
        "The JSON body holds more than 1064 arrays and objects",
    ),
    Case(
        "nul in enrolled subject",
        lambda a: _add(a, _file(one_face()), params={"subject": "E\x00ve"}),
        400,
        26,
        NUL_NAME,
    ),
    Case("nul in created subject", lambda a: _json(a, SUBJECTS, b'{"subject": "E\\u0000ve"}'), 400, 26, NUL_NAME),
    Case(
        "nul in renamed subject",
        lambda a: _json(a, SUBJECTS + "/alice", b'{"subject": "E\\u0000"}', "PUT"),
        400,
        26,
        NUL_NAME,
    ),
    Case(
        "nul in subject path, rename",
        lambda a: _json(a, SUBJECTS + "/al%00ice", b'{"subject": "x"}', "PUT"),
        400,
        26,
        NUL_NAME,
    ),
    Case(
        "nul in subject path, delete",
        lambda a: a.client.delete(SUBJECTS + "/al%00ice", headers=a.headers()),
        400,
        26,
        NUL_NAME,
    ),
    Case(
        "nul in listed subject",
        lambda a: a.client.get(ADD, params={"subject": "a\x00"}, headers=a.headers()),
        400,
        26,
        NUL_NAME,
    ),
    Case(
        "nul in deleted subject",
        lambda a: a.client.delete(ADD, params={"subject": "a\x00"}, headers=a.headers()),
        400,
        26,
        NUL_NAME,
    ),
    Case("embedding beyond float32", lambda a: _embeddings(a, [[1e39] + [0.0] * (DIMENSION - 1)]), 400, 26),
    Case(
        "embedding NaN",
        lambda a: _json(a, EMBEDDINGS, b'{"embeddings": [[NaN' + b", 0" * (DIMENSION - 1) + b"]]}"),
        400,
        26,
    ),
    Case("embedding integer beyond double", lambda a: _embeddings(a, [[10**400] + [0] * (DIMENSION - 1)]), 400, 26),
    Case("too many embeddings", lambda a: _embeddings(a, [[0.5]] * 1001), 400, 0),
    Case(
        "one-value targets by the million",
        lambda a: _json(a, VERIFY_EMBEDDINGS, _one_value_targets(), key=a.verification_key),
        400,
        26,
        "The JSON body holds more than 1064 arrays and objects",
    ),
    Case(
        "one long vector",
        lambda a: _json(
            a, VERIFY_EMBEDDINGS, b'{"source": [' + b"1," * 2_000_000 + b'1], "targets": [[1]]}', key=a.verification_key
        ),
        400,
        26,
        f"The JSON body holds more than {(1000 + 1) * (DIMENSION + 1) + 64} values",
    ),
    Case("truncated jpeg", lambda a: _add(a, _file(_truncated(), "x.jpg")), 400, 28, NO_FACE),
    Case(
        "bad extension",
        lambda a: _add(a, _file(one_face(), "x.txt")),
        400,
        21,
        "File [x.txt] has an unavailable extension",
    ),
    Case("no extension", lambda a: _add(a, _file(one_face(), "photo")), 400, 21),
    Case(
        "bad base64",
        lambda a: a.client.post(ADD, params={"subject": "E"}, json={"file": "%%%"}, headers=a.headers()),
        400,
        21,
        "Provided value is not Base64",
    ),
    Case(
        "base64 not a string",
        lambda a: a.client.post(ADD, params={"subject": "E"}, json={"file": 5}, headers=a.headers()),
        400,
        21,
    ),
    Case(
        "json file null",
        lambda a: a.client.post(ADD, params={"subject": "E"}, json={"file": None}, headers=a.headers()),
        400,
        5,
        "Field content cannot be empty",
    ),
    Case(
        "malformed json",
        lambda a: a.client.post(
            ADD, params={"subject": "E"}, content=b"{", headers={**a.headers(), "content-type": "application/json"}
        ),
        400,
        26,
    ),
    Case(
        "json array body", lambda a: a.client.post(ADD, params={"subject": "E"}, json=[1], headers=a.headers()), 400, 5
    ),
    Case(
        "text/plain body",
        lambda a: a.client.post(
            ADD, params={"subject": "E"}, content=b"x", headers={**a.headers(), "content-type": "text/plain"}
        ),
        415,
        26,
    ),
    Case(
        "broken multipart",
        lambda a: a.client.post(
            ADD,
            params={"subject": "E"},
            content=b"--zz\r\nnonsense",
            headers={**a.headers(), "content-type": "multipart/form-data; boundary=zz"},
        ),
        400,
        34,
    ),
    Case("file over max_file_size", lambda a: _add(a, _file(b"\xff" * (5 * 1024 * 1024 + 1), "x.jpg")), 400, 0),
    Case("request over max_request_size", lambda a: _add(a, _file(b"\xff" * (11 * 1024 * 1024), "x.jpg")), 413, 0),
    Case("decompression bomb", lambda a: _add(a, _file(_bomb())), 400, 0),
    Case("no face", lambda a: _add(a, _file(image([]))), 400, 28, NO_FACE),
    Case("two faces", lambda a: _add(a, _file(image([(5, 5, 60, RED), (120, 90, 80, GREEN)]))), 400, 31),
    Case("missing subject", lambda a: _add(a, _file(one_face()), params={}), 400, 33),
    Case("blank subject", lambda a: _add(a, _file(one_face()), params={"subject": " "}), 400, 26),
    Case("subject too long", lambda a: _add(a, _file(one_face()), params={"subject": "x" * 256}), 400, 26),
    Case(
        "threshold not a number",
        lambda a: _add(a, _file(one_face()), params={"subject": "E", "det_prob_threshold": "hi"}),
        400,
        26,
    ),
    Case(
        "threshold out of range",
        lambda a: _add(a, _file(one_face()), params={"subject": "E", "det_prob_threshold": "2"}),
        400,
        28,
    ),
    Case(
        "limit not a number",
        lambda a: _recognize(a, {"limit": "x"}),
        400,
        26,
    ),
    Case(
        "prediction_count fraction",
        lambda a: _recognize(a, {"prediction_count": "1.5"}),
        400,
        26,
    ),
    Case(
        "status not boolean",
        lambda a: _recognize(a, {"status": "maybe"}),
        400,
        26,
    ),
    Case("delete unknown example", lambda a: a.client.delete(f"{ADD}/{UNKNOWN_ID}", headers=a.headers()), 404, 44),
    Case("delete non-uuid example", lambda a: a.client.delete(f"{ADD}/12", headers=a.headers()), 400, 26),
    Case("bulk delete not ids", lambda a: a.client.post(f"{ADD}/delete", json=["x"], headers=a.headers()), 400, 26),
    Case(
        "rename unknown subject",
        lambda a: a.client.put("/api/v1/recognition/subjects/Nobody", json={"subject": "Z"}, headers=a.headers()),
        404,
        42,
    ),
    Case(
        "delete unknown subject",
        lambda a: a.client.delete("/api/v1/recognition/subjects/Nobody", headers=a.headers()),
        404,
        42,
    ),
    Case(
        "create subject bad name",
        lambda a: a.client.post("/api/v1/recognition/subjects", json={"subject": "a/b"}, headers=a.headers()),
        400,
        36,
    ),
    Case(
        "create existing subject",
        lambda a: a.client.post("/api/v1/recognition/subjects", json={"subject": "alice"}, headers=a.headers()),
        400,
        43,
    ),
    Case(
        "verify unknown example",
        lambda a: a.client.post(f"{ADD}/{UNKNOWN_ID}/verify", files=_file(one_face()), headers=a.headers()),
        404,
        44,
    ),
    Case(
        "embeddings wrong dimension",
        lambda a: a.client.post(EMBEDDINGS, json={"embeddings": [[1, 2, 3]]}, headers=a.headers()),
        400,
        0,
    ),
    Case("wrong method", lambda a: a.client.patch(ADD, headers=a.headers()), 405, 0),
]


def _state(api: Api) -> tuple[Any, ...]:
    headers = api.headers()
    subjects = api.client.get("/api/v1/recognition/subjects", headers=headers).json()
    faces = api.client.get(ADD, params={"size": 2000}, headers=headers).json()
    recognized = api.client.post(
        "/api/v1/recognition/recognize", params={"prediction_count": 10}, files=_file(one_face(RED)), headers=headers
    ).json()
    images = [api.client.get(f"{ADD}/{f['image_id']}/img", headers=headers).content for f in faces["faces"]]
    return subjects, faces, recognized, images


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_a_clear_4xx_and_changes_nothing(api: Api, case: Case) -> None:
    api.enrol("Alice", one_face(RED))
    before = _state(api)
    response = case.send(api)
    assert response.status_code == case.status, response.text
    body = response.json()
    assert set(body) == {"message", "code"}, body
    assert body["code"] == case.code, body
    assert "Traceback" not in response.text
    if case.message is not None:
        assert body["message"] == case.message
    assert _state(api) == before
