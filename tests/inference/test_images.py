from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.images import decode_image

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


@pytest.mark.parametrize("data", [b"", b"hello, I am not an image", b"\xff\xd8\xff\xe0garbage"])
def test_unreadable_bytes_mean_no_face(data: bytes) -> None:
    with pytest.raises(FacekeeperError) as caught:
        decode_image(data, LIMIT)
    assert caught.value.error is Error.NO_FACES_FOUND


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
