"""Converted models cached under the data directory, keyed by what they were made from.

The key is the source file's SHA-256 and the converter's version, so a new package release or a fixed
converter gives a new file, and a half-written file is never read: it is written beside the target and
renamed into place (two processes converting at once both produce the same bytes; the last rename wins).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import onnx

logger = logging.getLogger("facekeeper.models")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def converted_model(
    source: Path, cache_dir: Path, name: str, converter_version: str, convert: Callable[[Path], onnx.ModelProto]
) -> Path:
    """The ONNX file converted from `source`, converting it now if no cached copy matches."""
    key = hashlib.sha256(f"{file_sha256(source)}:{converter_version}".encode()).hexdigest()[:16]
    target = cache_dir / f"{name}-{key}.onnx"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model = convert(source)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}-", suffix=".onnx.tmp", dir=cache_dir)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(model.SerializeToString())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("converted %s to %s in %.2f s", source.name, target, time.perf_counter() - started)
    return target
