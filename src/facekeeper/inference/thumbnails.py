"""Small copies of stored example images for the admin UI's collection pages.

Decoded with the same checks as any uploaded image (`images.decode_image`), shrunk with area
averaging, sent as JPEG: a page of 24 thumbnails costs kilobytes instead of megabytes.
"""

from __future__ import annotations

import cv2
import simplejpeg

from facekeeper.inference.images import decode_image

THUMBNAIL_QUALITY = 85


def thumbnail(image: bytes, max_side: int, max_pixels: int) -> bytes:
    """A JPEG whose longest side is at most `max_side` (never enlarged)."""
    pixels = decode_image(image, max_pixels)
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return bytes(simplejpeg.encode_jpeg(pixels, quality=THUMBNAIL_QUALITY, colorspace="RGB"))
