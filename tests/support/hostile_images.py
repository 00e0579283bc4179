"""Hostile image files built in test code (never committed as binaries)."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_scan_bomb(side: int = 1024, scans: int = 20_000) -> bytes:
    """A grey progressive JPEG whose AC scan is repeated `scans` times.

    Each repeated scan is 14 bytes (one end-of-band run covering every block), yet the decoder walks every
    block of the image for each one: 20,000 scans of 1024x1024 pixels in 240 KB took ~5 s to decode.
    """
    out = bytearray(b"\xff\xd8")
    out += _segment(0xDB, bytes([0]) + bytes([1] * 64))  # quantisation table 0: all ones
    out += _segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + bytes([1, 0x11, 0]))  # progressive, grey
    out += _segment(0xC4, bytes([0x00, 1] + [0] * 15 + [0x00]))  # DC table: code "0" = difference 0
    out += _segment(0xC4, bytes([0x10, 1] + [0] * 15 + [0xE0]))  # AC table: code "0" = EOB run of 2^14+
    blocks = ((side + 7) // 8) ** 2
    out += _segment(0xDA, bytes([1, 1, 0x00, 0, 0, 0x00])) + b"\x00" * ((blocks + 7) // 8)  # DC scan
    # AC scan, bands 1-63: the run symbol plus 14 bits of ones = a run of 32,767 blocks.
    out += (_segment(0xDA, bytes([1, 1, 0x00, 1, 63, 0x00])) + b"\x7f\xff") * scans
    out += b"\xff\xd9"
    return bytes(out)


def photo_like(size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(noise)


def progressive_jpeg(size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    photo_like(size).save(buffer, "JPEG", progressive=True, quality=90)
    return buffer.getvalue()


def truncated_jpeg_with_end_marker() -> bytes:
    """The first half of a JPEG with an end-of-image marker appended: libjpeg fills the rest with grey."""
    buffer = io.BytesIO()
    photo_like().save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    return data[: len(data) // 2] + b"\xff\xd9"


EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n%%EndComments\n"
    b"newpath 0 0 moveto 64 64 lineto stroke\nshowpage\n%%EOF\n"
)
# First bytes of formats Pillow (or its plugins) can read but CompreFace does not accept.
NOT_ALLOWED = {
    "eps": EPS,
    "pdf": b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
    "avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
    "jp2": b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 " + b"\x00" * 64,
    "psd": b"8BPS\x00\x01" + b"\x00" * 64,
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
}
