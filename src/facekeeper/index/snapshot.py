"""Per-service snapshot files: a collection's arrays on disk, tagged with the change-log position they
reflect, so a restart (or a collection dropped by the memory bound) loads a million examples by reading
one file instead of a million database rows, then replays the log entries written since.

Layout of `<data_dir>/collections/<service id>.fks`: a 4 KiB header (magic, then JSON: position, the log
entry it names, counts, CRC-32 of the body), then the body: the float32 matrix (already normalised),
the packed ids, the int32 subject codes (-1 = tombstone) and the subject names as JSON.

Never trusted blindly:
- written to a temporary file, fsynced, renamed over the old one, and the directory fsynced, so a crash
  leaves the old file or the new one, never half of one;
- read back only when the magic, version, sizes and CRC all agree; anything else is `None` (the caller
  loads from the database), and the bad file is left to be replaced by the next write;
- the caller checks the position and the log entry it names against the database before using it.

The body is read straight into arrays sized with room to grow (no second copy: peak memory during a load
is the final size plus one 16 MiB chunk).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facekeeper.index import buffers

logger = logging.getLogger(__name__)

MAGIC = b"FKSNAP\x00\x01"
VERSION = 1
HEADER_BYTES = 4096
CHUNK_BYTES = 16 * 1024 * 1024
SUFFIX = ".fks"


@dataclass(frozen=True)
class SnapshotHeader:
    service_id: str
    position: int
    log_tag: str | None  # identifies the log entry at `position` (see `log_tag`), None at position 0
    count: int  # rows, tombstones included
    dimension: int
    names_bytes: int
    crc32: int
    calculator: str | None = None  # the calculator version of the vectors (None: every example's)


@dataclass
class SnapshotData:
    """Arrays as read: `matrix`, `ids` and `codes` have `capacity` rows, the first `header.count` filled."""

    header: SnapshotHeader
    matrix: np.ndarray
    ids: np.ndarray
    codes: np.ndarray
    names: list[str | None]  # by subject code; None for a code no row uses


def log_tag(kind: str, payload: str) -> str:
    """What names one log entry: a database restored to an older state and written again reuses sequence
    numbers, but not the same changes (an added example's id is unique)."""
    return f"{zlib.crc32(f'{kind}:{payload}'.encode()):08x}:{kind}"


def _body_parts(count: int, dimension: int) -> tuple[int, int, int]:
    return count * dimension * 4, count * 16, count * 4


class SnapshotStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._writing: set[str] = set()
        self._guard = threading.Lock()

    def path(self, service_id: str) -> Path:
        return self.folder / f"{service_id}{SUFFIX}"

    # --- reading ------------------------------------------------------------------------------------

    def header(self, service_id: str) -> SnapshotHeader | None:
        """The header of the service's file, if one exists and looks whole (sizes agree)."""
        try:
            with open(self.path(service_id), "rb") as file:
                header = _read_header(file, service_id)
                if header is None:
                    return None
                matrix, ids, codes = _body_parts(header.count, header.dimension)
                if os.fstat(file.fileno()).st_size != HEADER_BYTES + matrix + ids + codes + header.names_bytes:
                    logger.warning("snapshot of service %s has the wrong size; ignored", service_id)
                    return None
                return header
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning("snapshot of service %s unreadable (%s); ignored", service_id, error)
            return None

    def read(self, service_id: str, expected: SnapshotHeader, spare_rows: int) -> SnapshotData | None:
        """The file's arrays with `spare_rows` of room, if it is still the file `expected` describes and
        its CRC holds; else None."""
        try:
            with open(self.path(service_id), "rb") as file:
                header = _read_header(file, service_id)
                if header != expected:
                    return None  # replaced since its header was read
                capacity = header.count + spare_rows
                matrix = buffers.empty((capacity, header.dimension), np.float32)
                ids = buffers.empty((capacity, 2), np.uint64)
                codes = buffers.empty((capacity,), np.int32)
                crc = 0
                for array in (matrix[: header.count], ids[: header.count], codes[: header.count]):
                    crc = _read_into(file, array, crc)
                names_raw = file.read(header.names_bytes)
                if len(names_raw) != header.names_bytes or file.read(1):
                    return None
                crc = zlib.crc32(names_raw, crc)
                if crc != header.crc32:
                    logger.warning("snapshot of service %s fails its checksum; ignored", service_id)
                    return None
                names = json.loads(names_raw)
        except (OSError, ValueError) as error:
            logger.warning("snapshot of service %s unreadable (%s); ignored", service_id, error)
            return None
        return SnapshotData(header, matrix, ids, codes, names)

    # --- writing ------------------------------------------------------------------------------------

    def write(
        self,
        service_id: str,
        position: int,
        tag: str | None,
        matrix: np.ndarray,
        ids: np.ndarray,
        codes: np.ndarray,
        names: list[str | None],
        still_valid: Callable[[], bool] = lambda: True,
        calculator: str | None = None,
    ) -> bool:
        """Replace the service's file atomically; False when another thread of this process is writing
        it (that write will do), or when `still_valid()` says the arrays changed under the write."""
        with self._guard:
            if service_id in self._writing:
                return False
            self._writing.add(service_id)
        temporary = self.folder / f".{service_id}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            names_raw = json.dumps(names, ensure_ascii=False, separators=(",", ":")).encode()
            with open(temporary, "wb") as file:
                file.write(b"\x00" * HEADER_BYTES)
                crc = 0
                for array in (matrix, ids, codes):
                    crc = _write_from(file, np.ascontiguousarray(array), crc)
                file.write(names_raw)
                crc = zlib.crc32(names_raw, crc)
                header = SnapshotHeader(
                    service_id, position, tag, len(codes), int(matrix.shape[1]), len(names_raw), crc, calculator
                )
                file.seek(0)
                file.write(_encode_header(header))
                file.flush()
                os.fsync(file.fileno())
            if not still_valid():
                return False
            os.replace(temporary, self.path(service_id))
            _fsync_folder(self.folder)
            return True
        except OSError as error:
            logger.warning("snapshot of service %s not written: %s", service_id, error)
            return False
        finally:
            temporary.unlink(missing_ok=True)
            with self._guard:
                self._writing.discard(service_id)

    def remove(self, service_id: str) -> None:
        self.path(service_id).unlink(missing_ok=True)

    def prune(self, keep: set[str]) -> None:
        """Remove the files of services that no longer exist (and temporary files a crash left)."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            stale_temporary = path.name.startswith(".") and path.name.endswith(".tmp")
            if stale_temporary or (path.suffix == SUFFIX and path.stem not in keep):
                path.unlink(missing_ok=True)


def _encode_header(header: SnapshotHeader) -> bytes:
    fields: dict[str, Any] = {"version": VERSION, **header.__dict__}
    encoded = MAGIC + json.dumps(fields, separators=(",", ":")).encode()
    assert len(encoded) < HEADER_BYTES
    return encoded.ljust(HEADER_BYTES, b"\x00")


def _read_header(file: io.BufferedReader, service_id: str) -> SnapshotHeader | None:
    raw = file.read(HEADER_BYTES)
    if len(raw) != HEADER_BYTES or not raw.startswith(MAGIC):
        return None
    try:
        fields = json.loads(raw[len(MAGIC) :].rstrip(b"\x00"))
        if fields.pop("version") != VERSION:
            return None
        header = SnapshotHeader(**fields)
    except (ValueError, TypeError, KeyError):
        return None
    if header.service_id != service_id or header.count < 0 or header.dimension < 0 or header.position < 0:
        return None
    return header


def _read_into(file: io.BufferedReader, array: np.ndarray, crc: int) -> int:
    """Fill a C-contiguous array from the file, chunk by chunk, folding the bytes into the CRC."""
    view = array.reshape(-1).view(np.uint8).data
    for start in range(0, len(view), CHUNK_BYTES):
        chunk = view[start : start + CHUNK_BYTES]
        if file.readinto(chunk) != len(chunk):
            raise ValueError("truncated")
        crc = zlib.crc32(chunk, crc)
    return crc


def _write_from(file: io.BufferedWriter, array: np.ndarray, crc: int) -> int:
    view = array.reshape(-1).view(np.uint8).data
    for start in range(0, len(view), CHUNK_BYTES):
        chunk = view[start : start + CHUNK_BYTES]
        file.write(chunk)
        crc = zlib.crc32(chunk, crc)
    return crc


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
