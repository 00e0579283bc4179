"""Stored example images as the routes hand them out: the media type read from their content, and thumbnails.

Routes never reach into inference themselves (HTTP → use case → inference), so what they need of the
decoders is offered here.
"""

from __future__ import annotations

from facekeeper.inference.formats import FORMATS, sniff
from facekeeper.inference.thumbnails import thumbnail

__all__ = ["MEDIA_TYPES", "media_type", "thumbnail"]

UNKNOWN_MEDIA_TYPE = "application/octet-stream"
# Every type an image route may answer with: the allowed upload formats, and the unknown (an empty image).
MEDIA_TYPES: tuple[str, ...] = (*(f.media_type for f in FORMATS), UNKNOWN_MEDIA_TYPE)


def media_type(content: bytes) -> str:
    """The format `content` starts like; unknown for anything else, an empty answer included."""
    found = sniff(content)
    return found.media_type if found else UNKNOWN_MEDIA_TYPE
