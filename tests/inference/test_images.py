from __future__ import annotations

import io
import os
import subprocess
import time

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.images import count_jpeg_scans, decode_image
from tests.support.hostile_images import (
    EPS,
    NOT_ALLOWED,
    jpeg_scan_bomb,
    photo_like,
    progressive_jpeg,
    truncated_jpeg_with_end_marker,
)

from .fakes import encode

LIMIT = 40_000_000


def gradient(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    array = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    array[..., 0] = np.linspace(0, 255, size[0], dtype=np.uint8)
    array[..., 1] = 90
    array[..., 2] = 200
    return Image.fromarray(array).convert(mode)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "ICO"])
def test_every_accepted_format_decodes_to_rgb(image_format: str) -> None:
    pixels = decode_image(encode(gradient(), image_format), LIMIT)
    assert pixels.dtype == np.uint8
    assert pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.flags["C_CONTIGUOUS"]


def test_png_is_lossless_and_in_rgb_order() -> None:
    original = gradient()
    assert np.array_equal(decode_image(encode(original, "PNG"), LIMIT), np.asarray(original))


def test_grayscale_becomes_three_equal_channels() -> None:
    pixels = decode_image(encode(gradient("L"), "PNG"), LIMIT)
    assert pixels.shape == (48, 64, 3)
    assert np.array_equal(pixels[..., 0], pixels[..., 2])


def test_alpha_channel_is_dropped() -> None:
    rgba = gradient("RGBA")
    rgba.putalpha(0)
    pixels = decode_image(encode(rgba, "PNG"), LIMIT)
    assert pixels.shape == (48, 64, 3)
    assert np.array_equal(pixels, np.asarray(gradient()))


def test_animated_gif_gives_its_first_frame() -> None:
    red, blue = Image.new("RGB", (32, 32), (255, 0, 0)), Image.new("RGB", (32, 32), (0, 0, 255))
    data = encode(red, "GIF", save_all=True, append_images=[blue], duration=100)
    pixels = decode_image(data, LIMIT)
    assert tuple(pixels[0, 0]) == (255, 0, 0)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff\xe0garbage"])
def test_unreadable_bytes_mean_no_face(data: bytes) -> None:
    with pytest.raises(FacekeeperError) as caught:
        decode_image(data, LIMIT)
    assert caught.value.error is Error.NO_FACES_FOUND


def test_bytes_of_no_known_format_are_refused_clearly() -> None:
    with pytest.raises(FacekeeperError) as caught:
        decode_image(b"hello, I am not an image", LIMIT)
    assert caught.value.error is Error.IMAGE_FORMAT_NOT_ALLOWED
    assert caught.value.message.endswith("(jpeg, png, gif, bmp, tiff, webp, ico)")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_truncated_file_fails_instead_of_decoding_half(image_format: str) -> None:
    data = encode(gradient(size=(256, 256)), image_format)
    with pytest.raises(FacekeeperError) as caught:
        decode_image(data[: len(data) // 2], LIMIT)
    assert caught.value.error is Error.NO_FACES_FOUND


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG")
    assert len(bomb) < 1_000_000
    with pytest.raises(FacekeeperError) as caught:
        decode_image(bomb, LIMIT)
    assert caught.value.error is Error.IMAGE_TOO_LARGE
    assert caught.value.values == {"pixels": 400_000_000, "limit": LIMIT}


def test_pixel_limit_is_inclusive() -> None:
    data = encode(gradient(size=(100, 50)), "PNG")
    assert decode_image(data, 5000).shape == (50, 100, 3)
    with pytest.raises(FacekeeperError):
        decode_image(data, 4999)


# --- hostile files (issue 9, findings 2, 3 and 9) ---------------------------------------------------


def test_scan_bomb_is_refused_before_decoding() -> None:
    bomb = jpeg_scan_bomb(side=1024, scans=20_000)
    assert len(bomb) < 300_000
    started = time.perf_counter()
    with pytest.raises(FacekeeperError) as caught:
        decode_image(bomb, LIMIT)
    assert caught.value.error is Error.IMAGE_TOO_COMPLEX
    assert caught.value.http_status == 400
    # Counting markers is a scan over the bytes: far below the seconds the decoder would take.
    assert time.perf_counter() - started < 2.0


def test_scan_limit_is_configurable_and_inclusive() -> None:
    data = progressive_jpeg()
    scans = count_jpeg_scans(data, stop_after=1000)
    assert 2 <= scans <= 20
    assert decode_image(data, LIMIT, max_jpeg_scans=scans).shape == (240, 320, 3)
    with pytest.raises(FacekeeperError) as caught:
        decode_image(data, LIMIT, max_jpeg_scans=scans - 1)
    assert caught.value.error is Error.IMAGE_TOO_COMPLEX


def test_scans_of_an_embedded_thumbnail_are_not_counted() -> None:
    photo = photo_like()
    thumbnail = io.BytesIO()
    photo.resize((64, 48)).save(thumbnail, "JPEG", progressive=True)
    exif = Image.Exif()
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif.tobytes() + thumbnail.getvalue())  # opaque bytes inside APP1
    assert count_jpeg_scans(buffer.getvalue(), stop_after=1000) == 1


def test_truncated_jpeg_with_end_marker_is_refused() -> None:
    """libjpeg decodes it with the missing half grey; the strict decoder reports the premature end."""
    with pytest.raises(FacekeeperError) as caught:
        decode_image(truncated_jpeg_with_end_marker(), LIMIT)
    assert caught.value.error is Error.NO_FACES_FOUND


@pytest.mark.parametrize("name", sorted(NOT_ALLOWED))
def test_formats_outside_the_allow_list_are_refused_by_content(name: str) -> None:
    with pytest.raises(FacekeeperError) as caught:
        decode_image(NOT_ALLOWED[name], LIMIT)
    assert caught.value.error is Error.IMAGE_FORMAT_NOT_ALLOWED


def test_pillow_never_sees_a_format_outside_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GIF whose bytes Pillow would also accept as another format is opened as GIF only."""
    opened: list[object] = []
    original = Image.open

    def recording_open(fp: object, mode: str = "r", formats: object = None) -> Image.Image:
        opened.append(formats)
        return original(fp, mode, formats)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", recording_open)
    decode_image(encode(gradient(), "GIF"), LIMIT)
    assert opened == [("GIF",)]


def test_an_eps_upload_never_spawns_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's EPS reader runs Ghostscript: pretend it is installed and watch for any process."""
    spawned: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        spawned.append(args)
        raise AssertionError("a request tried to start a process")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", "gs", raising=False)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True, raising=False)
    with pytest.raises(FacekeeperError) as caught:
        decode_image(EPS, LIMIT)
    assert caught.value.error is Error.IMAGE_FORMAT_NOT_ALLOWED
    assert spawned == []
