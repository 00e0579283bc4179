"""Bytes in, RGB pixels out: allow-listed formats only, cost checked before any pixel is decoded.

What is bounded, and why:
- the format, by content (`formats.py`): Pillow only ever sees the seven formats CompreFace documents;
- the pixel count, from the header alone (decompression bombs);
- a JPEG's scan count: a progressive JPEG can repeat a scan thousands of times, each one a pass over the
  whole image (a 240 KB file held a worker for seconds), so the markers are counted before decoding;
- completeness: libjpeg fills a truncated JPEG with grey, even when an end marker was appended, so JPEGs
  are decoded strictly (any decoder warning refuses the file).

CompreFace reports every unreadable image as "no face found" (code 28), so do we.
"""

from __future__ import annotations

import io
import re
import warnings

import cv2
import numpy as np
import simplejpeg
from PIL import Image, ImageFile

from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.formats import ALLOWED_NAMES, FORMATS, sniff

_PILLOW_FORMATS = tuple(f.pillow for f in FORMATS)
# A marker ends a JPEG scan: 0xFF followed by anything but a stuffed zero or a restart marker.
_END_OF_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}  # RSTn, SOI, EOI, TEM: no length field


DEFAULT_MAX_JPEG_SCANS = 100


def decode_image(data: bytes, max_pixels: int, max_jpeg_scans: int = DEFAULT_MAX_JPEG_SCANS) -> np.ndarray:
    """An RGB uint8 HxWx3 C-contiguous array; no EXIF rotation, as CompreFace does none."""
    if not data:
        raise FacekeeperError(Error.NO_FACES_FOUND)
    found = sniff(data)
    if found is None:
        raise FacekeeperError(Error.IMAGE_FORMAT_NOT_ALLOWED, allowed=ALLOWED_NAMES)
    if found.pillow == "JPEG":
        return _decode_jpeg(data, max_pixels, max_jpeg_scans)
    return _decode_with_pillow(data, found.pillow, max_pixels)


def _decode_jpeg(data: bytes, max_pixels: int, max_scans: int) -> np.ndarray:
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as error:
        raise FacekeeperError(Error.NO_FACES_FOUND) from error
    _check_pixels(width * height, max_pixels)
    scans = count_jpeg_scans(data, stop_after=max_scans + 1)
    if scans > max_scans:
        raise FacekeeperError(Error.IMAGE_TOO_COMPLEX, limit=max_scans)
    try:
        # strict: a warning (premature end, corrupt data, bogus progression) refuses the file
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError as error:
        raise FacekeeperError(Error.NO_FACES_FOUND) from error
    return np.ascontiguousarray(pixels)


def count_jpeg_scans(data: bytes, stop_after: int) -> int:
    """Start-of-scan markers of the main image, up to its end marker (or `stop_after`, whichever first).

    Marker segments are skipped by their length, so an embedded thumbnail is not counted; a scan's
    entropy-coded data is skipped to the next real marker.
    """
    scans, position = 0, 2
    while position + 4 <= len(data) and scans < stop_after:
        if data[position] != 0xFF:
            break  # not a marker where one must be: the strict decoder will refuse the file
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            break
        if marker in _STANDALONE:
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:
            scans += 1
            end = _END_OF_SCAN.search(data, position)
            if end is None:
                break
            position = end.start()
    return scans


def _decode_with_pillow(data: bytes, pillow_format: str, max_pixels: int) -> np.ndarray:
    # A module-level setting of Pillow; truncated files must fail rather than come back half grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            # Our own limit is checked below; Pillow's fixed one would only warn (or refuse at 2x).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=(pillow_format,)) as image:
                width, height = image.size
                _check_pixels(width * height, max_pixels)
                if pillow_format == "PNG":
                    pixels = _decode_png_with_opencv(data, (height, width))
                    if pixels is not None:
                        return pixels
                return _to_rgb(image)
    except Image.DecompressionBombError as error:
        raise FacekeeperError(Error.IMAGE_TOO_LARGE, pixels=_pixels_in(error), limit=max_pixels) from error
    except FacekeeperError:
        raise
    except Exception as error:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
        raise FacekeeperError(Error.NO_FACES_FOUND) from error


def _check_pixels(pixels: int, limit: int) -> None:
    if pixels > limit:
        raise FacekeeperError(Error.IMAGE_TOO_LARGE, pixels=pixels, limit=limit)


def _decode_png_with_opencv(data: bytes, shape: tuple[int, int]) -> np.ndarray | None:
    """OpenCV decodes PNG faster than Pillow (docs/models.md); None lets Pillow decide, and report
    truncation, when OpenCV cannot decode the file or the file has no end chunk."""
    if b"IEND" not in data[-32:]:
        return None
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None or pixels.shape[:2] != shape:
        return None
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))


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
