"""The image formats Facekeeper accepts, recognised by their first bytes (CompreFace's list).

The allow-list is chosen by content, never by file name or declared type: a PostScript file named
`x.jpg` is not a JPEG, and Pillow must never be handed a format outside this list (its EPS reader runs
Ghostscript, its other readers are code nobody here reviewed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    name: str  # as in CompreFace's extension list
    pillow: str  # Pillow's format id, for `Image.open(formats=...)`
    media_type: str
    signatures: tuple[bytes, ...]

    def matches(self, data: bytes) -> bool:
        if self.pillow == "WEBP":
            return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        return data.startswith(self.signatures)


FORMATS = (
    ImageFormat("jpeg", "JPEG", "image/jpeg", (b"\xff\xd8\xff",)),
    ImageFormat("png", "PNG", "image/png", (b"\x89PNG\r\n\x1a\n",)),
    ImageFormat("gif", "GIF", "image/gif", (b"GIF87a", b"GIF89a")),
    ImageFormat("bmp", "BMP", "image/bmp", (b"BM",)),
    ImageFormat("tiff", "TIFF", "image/tiff", (b"II*\x00", b"MM\x00*")),
    ImageFormat("webp", "WEBP", "image/webp", (b"RIFF",)),
    ImageFormat("ico", "ICO", "image/x-icon", (b"\x00\x00\x01\x00",)),
)
ALLOWED_NAMES = ", ".join(f.name for f in FORMATS)


def sniff(data: bytes) -> ImageFormat | None:
    """The allowed format `data` starts like, or None."""
    return next((f for f in FORMATS if f.matches(data)), None)
