"""Bytes in, RGB pixels out, with the size checked before any pixel is decoded.

CompreFace reports every unreadable image as "no face found" (code 28), so do we; a decompression bomb is
refused from the header alone, before memory is spent on it.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageFile

from facekeeper.errors import Error, FacekeeperError

# OpenCV decodes these formats faster than Pillow (measured: see docs/models.md).
_OPENCV_FORMATS = frozenset({"JPEG", "PNG"})


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """An RGB uint8 HxWx3 C-contiguous array; no EXIF rotation, as CompreFace does none."""
    # A module-level setting of Pillow; truncated files must fail rather than come back half grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    if not data:
        raise FacekeeperError(Error.NO_FACES_FOUND)
    try:
        with warnings.catch_warnings():
            # Our own limit is checked below; Pillow's fixed one would only warn (or refuse at 2x).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise FacekeeperError(Error.IMAGE_TOO_LARGE, pixels=width * height, limit=max_pixels)
                if image.format in _OPENCV_FORMATS:
                    pixels = _decode_with_opencv(data)
                    if pixels is not None and pixels.shape[:2] == (height, width):
                        return pixels
                return _to_rgb(image)
    except Image.DecompressionBombError as error:
        raise FacekeeperError(Error.IMAGE_TOO_LARGE, pixels=_pixels_in(error), limit=max_pixels) from error
    except FacekeeperError:
        raise
    except Exception as error:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
        raise FacekeeperError(Error.NO_FACES_FOUND) from error


def _decode_with_opencv(data: bytes) -> np.ndarray | None:
    """None when OpenCV cannot decode the file; Pillow then decides (and reports truncation)."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    pixels = cv2.imdecode(buffer, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None or not _is_complete(data):
        return None
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))


def _is_complete(data: bytes) -> bool:
    """OpenCV quietly decodes truncated JPEG/PNG files (grey fill), so check the end markers ourselves."""
    if data.startswith(b"\xff\xd8"):
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if data.startswith(b"\x89PNG"):
        return b"IEND" in data[-32:]
    return False


def _to_rgb(image: Image.Image) -> np.ndarray:
    """First frame only (GIF, TIFF pages); grey, palette and alpha images become plain RGB."""
    image.seek(0)
    image.load()
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _pixels_in(error: Exception) -> int:
    """Pillow's bomb message names the pixel count; fall back to 0 if its wording changes."""
    words = [word for word in str(error).replace("(", " ").split() if word.isdigit()]
    return int(words[0]) if words else 0
