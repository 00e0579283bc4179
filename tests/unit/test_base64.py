"""Base64 image input (decision D11) and the multipart filename extension check (spec §7.1)."""

from __future__ import annotations

import base64

import pytest

from facekeeper.api.inputs import ALLOWED_EXTENSIONS, _extension, decode_base64
from facekeeper.errors import Error, FacekeeperError

# Bytes whose Base64 uses '+' and '/' (standard) or '-' and '_' (URL-safe), and needs padding.
PAYLOAD = bytes([0xFB, 0xFF, 0xBF, 0xFE, 0x00, 0x10, 0x83, 0xFF])
STANDARD = base64.b64encode(PAYLOAD).decode()
URL_SAFE = base64.urlsafe_b64encode(PAYLOAD).decode()


def test_payload_exercises_both_alphabets_and_padding() -> None:
    assert "+" in STANDARD and "/" in STANDARD and STANDARD.endswith("=")
    assert "-" in URL_SAFE and "_" in URL_SAFE


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(STANDARD, id="standard"),
        pytest.param(URL_SAFE, id="url-safe"),
        pytest.param(STANDARD.rstrip("="), id="standard-no-padding"),
        pytest.param(URL_SAFE.rstrip("="), id="url-safe-no-padding"),
        pytest.param(STANDARD[:4] + "\n" + STANDARD[4:8] + "\r\n" + STANDARD[8:], id="newlines"),
        pytest.param(" ".join(STANDARD), id="spaces-everywhere"),
        pytest.param("\t" + STANDARD + "\n", id="surrounding-whitespace"),
        pytest.param("data:image/jpeg;base64," + STANDARD, id="data-uri-jpeg"),
        pytest.param("data:image/png;base64," + URL_SAFE, id="data-uri-url-safe"),
        pytest.param("DATA:IMAGE/PNG;BASE64," + STANDARD, id="data-uri-upper-case"),
        pytest.param("data:image/svg+xml;charset=utf-8;base64," + STANDARD, id="data-uri-with-parameter"),
        pytest.param("  data:image/jpeg;base64," + STANDARD[:6] + "\n" + STANDARD[6:], id="data-uri-and-newline"),
    ],
)
def test_decode_accepts_d11_spellings(text: str) -> None:
    assert decode_base64(text) == PAYLOAD


@pytest.mark.parametrize(
    ("text", "expected"),
    [("YQ==", b"a"), ("YQ", b"a"), ("YQ=", b"a"), ("YWI=", b"ab"), ("YWI", b"ab"), ("YWJj", b"abc"), ("", b"")],
)
def test_decode_padding_optional(text: str, expected: bytes) -> None:
    assert decode_base64(text) == expected


def test_decode_a_larger_binary_blob() -> None:
    blob = bytes(range(256)) * 20
    encoded = base64.encodebytes(blob).decode()  # MIME style: a newline every 76 characters
    assert "\n" in encoded.strip()
    assert decode_base64(encoded) == blob


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("@@@", id="not-the-alphabet"),
        pytest.param("abcde", id="length-mod-4-is-1"),
        pytest.param("a", id="single-character"),
        pytest.param("YQ==YQ==", id="padding-in-the-middle"),
        pytest.param("YQ===", id="three-padding-characters"),
        pytest.param("Y*Q=", id="star"),
        pytest.param("data:image/jpeg;base64,@@@@", id="data-uri-with-garbage"),
        pytest.param("image/jpeg;base64,YQ==", id="prefix-without-data-scheme"),
        pytest.param("Zm9v.YmFy", id="dot"),
        pytest.param("Zm9v\x00", id="nul"),
        pytest.param("é", id="non-ascii"),
    ],
)
def test_decode_rejects_garbage_with_code_21(text: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        decode_base64(text)
    assert error.value.error is Error.NOT_BASE64
    assert error.value.code == 21
    assert error.value.http_status == 400
    assert error.value.message == "Provided value is not Base64"
    assert error.value.body() == {"message": "Provided value is not Base64", "code": 21}


# --- _extension -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("face.jpg", "jpg"),
        ("face.JPG", "jpg"),
        ("Face.JpEg", "jpeg"),
        ("archive.tar.gz", "gz"),
        ("photos/2024/face.png", "png"),
        ("C:\\Users\\me\\face.WEBP", "webp"),
        ("dir.with.dots/face", ""),
        ("dir.png\\face", ""),
        ("noextension", ""),
        ("", ""),
        ("face.", ""),
        (".png", "png"),
    ],
)
def test_extension(filename: str, expected: str) -> None:
    assert _extension(filename) == expected


@pytest.mark.parametrize("extension", ["tif", "tiff", "jpg", "jpeg", "png", "bmp", "ico", "gif", "webp"])
def test_allowed_extensions_are_compreface_whitelist(extension: str) -> None:
    assert extension in ALLOWED_EXTENSIONS
    assert _extension(f"x.{extension.upper()}") in ALLOWED_EXTENSIONS


def test_allowed_extensions_are_exactly_the_whitelist() -> None:
    assert frozenset({"tif", "tiff", "jpg", "jpeg", "png", "bmp", "ico", "gif", "webp"}) == ALLOWED_EXTENSIONS
