"""The export archive, version 1: a tar stream (optionally gzip) written and read front to back, so a
million examples pass through in chunks and neither side needs a seekable file or the whole collection
in memory. docs/archive.md describes the format for other tools.

    manifest.json                 first: format, version, service, calculator, dimension, counts
    subjects/000000.jsonl         {"name": ...} per line, every subject (those without examples too)
    examples/000000.jsonl         up to EXAMPLES_PER_CHUNK records: image_id, subject, embedding, ...
    images/<image_id>.<ext>       that chunk's images, right after it, in record order
    examples/000001.jsonl ...
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import tarfile
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import IO, Any

import numpy as np

from facekeeper.domain import is_canonical_uuid
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.examples import content_sha256
from facekeeper.storage.bulk import StoredExampleRow

FORMAT = "facekeeper-archive"
VERSION = 1
EMBEDDING_ENCODING = "base64-float32-le"
EXAMPLES_PER_CHUNK = 256  # with their images: a few MB held at once on either side
SUBJECTS_PER_CHUNK = 10_000
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # a reader never allocates more than this for one member

_CHUNK_NAME = re.compile(r"(subjects|examples)/\d{6}\.jsonl")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF8", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tif"),
    (b"MM\x00*", "tif"),
    (b"\x00\x00\x01\x00", "ico"),
)


@dataclass(frozen=True)
class Manifest:
    service: str
    calculator: str | None  # None: the service had no examples
    dimension: int | None
    subjects: int
    examples: int
    images: int
    created_at: str
    facekeeper_version: str
    format: str = FORMAT
    version: int = VERSION
    embedding_encoding: str = EMBEDDING_ENCODING

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode() + b"\n"


@dataclass(frozen=True)
class ArchivedExample:
    image_id: str
    subject: str
    vector: np.ndarray  # float32
    content_sha256: str | None
    created_at: datetime | None
    image: bytes | None


@dataclass(frozen=True)
class SubjectChunk:
    names: list[str]


@dataclass(frozen=True)
class ExampleChunk:
    member: str
    examples: list[ArchivedExample]


def image_extension(image: bytes) -> str:
    """For people browsing the archive; readers go by the record, not the extension."""
    for signature, extension in _IMAGE_SIGNATURES:
        if image.startswith(signature):
            return extension
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "webp"
    return "bin"


def encode_embedding(stored: bytes) -> str:
    return base64.b64encode(np.frombuffer(stored, dtype=np.float32).astype("<f4").tobytes()).decode()


class ArchiveWriter:
    def __init__(self, out: IO[bytes], *, compress: bool) -> None:
        # Open for the writer's lifetime, closed by close(); the caller owns `out`.
        if compress:
            self._tar = tarfile.open(fileobj=out, mode="w|gz", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        else:
            self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self._mtime = int(time.time())

    def _add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), self._mtime, 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def manifest(self, manifest: Manifest) -> None:
        self._add("manifest.json", manifest.to_json())

    def subjects(self, names: Iterable[str]) -> None:
        for number, chunk in enumerate(_chunks(names, SUBJECTS_PER_CHUNK)):
            lines = (json.dumps({"name": name}, ensure_ascii=False) for name in chunk)
            self._add(f"subjects/{number:06d}.jsonl", "\n".join(lines).encode() + b"\n")

    def examples(self, rows: Iterable[StoredExampleRow]) -> Iterator[list[StoredExampleRow]]:
        """Writes every row; yields each chunk once written (for progress)."""
        for number, chunk in enumerate(_chunks(rows, EXAMPLES_PER_CHUNK)):
            records, images = [], []
            for row in chunk:
                image_name = f"images/{row.id}.{image_extension(row.image)}" if row.image is not None else None
                records.append(
                    {
                        "image_id": row.id,
                        "subject": row.subject,
                        "embedding": encode_embedding(row.embedding),
                        "sha256": row.content_sha256 or _sha256(row.image),
                        "created_at": row.created_at.isoformat(),
                        "image": image_name,
                    }
                )
                if image_name is not None and row.image is not None:
                    images.append((image_name, row.image))
            lines = (json.dumps(record, ensure_ascii=False) for record in records)
            self._add(f"examples/{number:06d}.jsonl", "\n".join(lines).encode() + b"\n")
            for name, image in images:
                self._add(name, image)
            yield chunk

    def close(self) -> None:
        self._tar.close()


class ArchiveReader:
    """Reads the manifest at once, then `chunks()` one at a time; anything off is ARCHIVE_INVALID."""

    def __init__(self, source: IO[bytes], label: str) -> None:
        self.label = label
        try:
            # A stream over the caller's file (which closes it): nothing of ours to close.
            self._tar = tarfile.open(fileobj=source, mode="r|*")  # noqa: SIM115
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise self._invalid(f"not a tar archive ({error})") from error
        self._members = iter(self._tar)
        first = self._next()
        if first is None or first.name != "manifest.json":
            raise self._invalid("manifest.json must come first")
        self.manifest = self._manifest(self._read(first, limit=1024 * 1024))

    def _invalid(self, reason: str) -> FacekeeperError:
        return FacekeeperError(Error.ARCHIVE_INVALID, path=self.label, reason=reason)

    def _next(self) -> tarfile.TarInfo | None:
        try:
            return next(self._members, None)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise self._invalid(f"damaged or truncated ({error})") from error

    def _read(self, member: tarfile.TarInfo, limit: int = MAX_MEMBER_BYTES) -> bytes:
        if not member.isfile():
            raise self._invalid(f"{member.name} is not a regular file")
        if member.size > limit:
            raise self._invalid(f"{member.name} is larger than {limit} bytes")
        try:
            extracted = self._tar.extractfile(member)
            assert extracted is not None
            data = extracted.read()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise self._invalid(f"damaged or truncated at {member.name} ({error})") from error
        if len(data) != member.size:
            raise self._invalid(f"truncated at {member.name}")
        return data

    def _manifest(self, data: bytes) -> Manifest:
        try:
            fields = json.loads(data)
            if fields.get("format") != FORMAT:
                raise self._invalid("manifest.json does not describe a Facekeeper archive")
            if fields.get("version") != VERSION:
                raise self._invalid(f"format version {fields.get('version')} (this Facekeeper reads {VERSION})")
            if fields.get("embedding_encoding") != EMBEDDING_ENCODING:
                raise self._invalid(f"unknown embedding encoding {fields.get('embedding_encoding')!r}")
            manifest = Manifest(**fields)
            counts = (manifest.subjects, manifest.examples, manifest.images)
            if not all(isinstance(n, int) and n >= 0 for n in counts):
                raise ValueError("counts must be non-negative integers")
            if manifest.examples and not (isinstance(manifest.dimension, int) and manifest.dimension > 0):
                raise ValueError("dimension missing")
            return manifest
        except (ValueError, TypeError, AttributeError) as error:
            raise self._invalid(f"manifest.json is malformed ({error})") from error

    def chunks(self) -> Iterator[SubjectChunk | ExampleChunk]:
        while (member := self._next()) is not None:
            if not _CHUNK_NAME.fullmatch(member.name):
                raise self._invalid(f"unexpected member {member.name}")
            lines = self._read(member).decode("utf-8", errors="strict").splitlines()
            records = [self._record(member.name, number, line) for number, line in enumerate(lines, 1) if line]
            if member.name.startswith("subjects/"):
                names = [record.get("name") for record in records]
                if not all(isinstance(name, str) for name in names):
                    raise self._invalid(f"{member.name} holds a record without a name")
                yield SubjectChunk(names)  # type: ignore[arg-type]
            else:
                yield ExampleChunk(member.name, [self._example(member.name, record) for record in records])

    def _record(self, member: str, number: int, line: str) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except ValueError as error:
            raise self._invalid(f"{member} line {number} is not JSON") from error
        if not isinstance(record, dict):
            raise self._invalid(f"{member} line {number} is not an object")
        return record

    def _example(self, member: str, record: dict[str, Any]) -> ArchivedExample:
        where = f"{member} example {record.get('image_id')!r}"
        try:
            image_id, subject = record["image_id"], record["subject"]
            if not (isinstance(image_id, str) and is_canonical_uuid(image_id) and isinstance(subject, str)):
                raise ValueError("image_id must be a UUID and subject a string")
            vector = np.frombuffer(base64.b64decode(record["embedding"], validate=True), dtype="<f4")
            if vector.shape != (self.manifest.dimension,) or not np.isfinite(vector).all():
                raise ValueError(f"embedding is not {self.manifest.dimension} finite numbers")
            digest = record.get("sha256")
            if digest is not None and not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
                raise ValueError("sha256 is not 64 hex digits")
            created = record.get("created_at")
            created_at = datetime.fromisoformat(created) if created else None
        except (KeyError, ValueError, TypeError, binascii.Error) as error:
            raise self._invalid(f"{where} is malformed ({error})") from error
        image = self._image(where, record.get("image"), digest)
        return ArchivedExample(image_id, subject, vector.astype(np.float32), digest, created_at, image)

    def _image(self, where: str, name: object, digest: str | None) -> bytes | None:
        if name is None:
            return None
        member = self._next()
        if member is None or member.name != name:
            found = "the end" if member is None else member.name
            raise self._invalid(f"{where} expects its image {name} next, found {found}")
        image = self._read(member)
        if digest is not None and _sha256(image) != digest:
            raise self._invalid(f"{name} does not match its sha256")
        return image


def _sha256(image: bytes | None) -> str | None:
    return content_sha256(image) if image is not None else None


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
