"""The bad-input corpus: every malformed request gets a CompreFace-shaped 4xx and changes nothing."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Api
from tests.support.squares import GREEN, RED, image, one_face

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
CASES = [
    Case("no key", lambda a: _add(a, _file(one_face()), headers={}), 400, 20, "Missing header: x-api-key"),
    Case("key not uuid", lambda a: _add(a, _file(one_face()), headers={"x-api-key": "k"}), 400, 26),
    Case("unknown key", lambda a: _add(a, _file(one_face()), headers={"x-api-key": UNKNOWN_ID}), 404, 10),
    Case("detection key", lambda a: _add(a, _file(one_face()), headers=a.headers(a.detection_key)), 404, 10),
    Case("no file part", lambda a: _add(a, {"other": ("x.png", one_face())}), 400, 34, "Required part file is missing"),
    Case("file as text field", lambda a: _add(a, {"other": ("x.png", b"1")}, data={"file": "abc"}), 400, 34),
    Case("empty file", lambda a: _add(a, _file(b"")), 400, 28, NO_FACE),
    Case("text bytes", lambda a: _add(a, _file(b"hello, I am not an image")), 400, 28, NO_FACE),
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
        lambda a: a.client.post(
            "/api/v1/recognition/embeddings/recognize", json={"embeddings": [[1, 2, 3]]}, headers=a.headers()
        ),
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
