"""Plain values shared by every layer, and CompreFace's similarity formula."""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np


class ServiceType(StrEnum):
    """A service's kind; the value is the one-letter code CompreFace stores."""

    RECOGNITION = "R"
    DETECTION = "D"
    VERIFICATION = "V"

    @property
    def label(self) -> str:
        """Spelling used in CompreFace's error messages ("Recognition service with API Key ...")."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> ServiceType:
        """Accept CLI/admin spellings: recognition, detection, verification (or CompreFace's VERIFY)."""
        name = text.strip().upper()
        if name == "VERIFY":
            name = "VERIFICATION"
        return cls[name]


@dataclass(frozen=True)
class ServiceRecord:
    id: str
    name: str
    type: ServiceType
    api_key: str
    revision: int = 0
    # The registry name of the embedder the collection was built with ("sface", "dlib", "sface+dlib",
    # "sface-flip"...): queries against it are embedded by that model, whatever the server's default.
    embedder: str = "sface"


@dataclass(frozen=True)
class BoundingBox:
    x_min: int
    y_min: int
    x_max: int
    y_max: int
    probability: float

    @property
    def area(self) -> int:
        return max(0, self.x_max - self.x_min) * max(0, self.y_max - self.y_min)


@dataclass
class Face:
    """One detected face with whatever the pipeline computed for it."""

    box: BoundingBox
    landmarks: list[tuple[int, int]]
    embedding: np.ndarray | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # plugin slug -> value (e.g. Age, Pose)
    execution_time_ms: dict[str, float] = field(default_factory=dict)


# Slugs the pipeline answers itself; every other `face_plugins` slug names a face plugin (age, mask...).
CALCULATOR = "calculator"
# File extensions CompreFace accepts for an image upload; the bulk import applies the same list.
IMAGE_EXTENSIONS = frozenset({"tif", "tiff", "jpg", "jpeg", "png", "bmp", "ico", "gif", "webp"})
LANDMARKS = "landmarks"


@dataclass(frozen=True)
class ScanOptions:
    """What one request asks of the face pipeline (CompreFace's `find_faces` parameters)."""

    limit: int = 0  # 0 = all; keep the biggest boxes (area desc)
    det_prob_threshold: float | None = None  # None = detector default; keep probability > threshold (strict)
    plugins: frozenset[str] = field(default_factory=frozenset)  # slugs; 'calculator' computes embeddings
    detect_faces: bool = True  # False: the whole image is one face with probability 1.0
    max_faces: int | None = None  # hard cap used by enrolment (CompreFace asks the core for 2 faces)
    embedder: str | None = None  # registry name of the embedder to use; None = the server's active one


def with_calculator(options: ScanOptions) -> ScanOptions:
    """Recognition and verification always need embeddings, whatever plugins the client asked for."""
    return replace(options, plugins=options.plugins | {CALCULATOR})


@dataclass(frozen=True)
class Age:
    """CompreFace's `age`: an age range in years and the probability that the age lies in it."""

    low: int
    high: int
    probability: float


@dataclass(frozen=True)
class Gender:
    value: str  # "male" or "female"
    probability: float


@dataclass(frozen=True)
class Mask:
    value: str  # "without_mask", "with_mask" (D2; "mask_weared_incorrect" only from a model that can tell)
    probability: float


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees; sign conventions in docs/models.md."""

    pitch: float
    yaw: float
    roll: float


@dataclass
class FaceScan:
    """What the pipeline returns for one image."""

    faces: list[Face]
    plugins_versions: dict[str, str]


@dataclass(frozen=True)
class Example:
    image_id: str
    subject: str


@dataclass(frozen=True)
class Match:
    """A stored example compared with a query face."""

    image_id: str
    subject: str
    similarity: float


@dataclass(frozen=True)
class SimilarityCoefficients:
    """(c0, c1) of CompreFace's `(tanh((c0 - d) * c1) + 1) / 2`; similarity is 0.5 exactly at d = c0."""

    c0: float
    c1: float

    def similarity(self, distance: float) -> float:
        return (math.tanh((self.c0 - distance) * self.c1) + 1.0) / 2.0

    def similarities(self, distances: np.ndarray) -> np.ndarray:
        return (np.tanh((self.c0 - distances) * self.c1) + 1.0) / 2.0


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


_FORBIDDEN_NAME_CHARACTERS = re.compile(r"[;/\\]")


def has_forbidden_name_characters(name: str) -> bool:
    """CompreFace refuses `;`, `/` and `\\` in subject, service and application names."""
    return _FORBIDDEN_NAME_CHARACTERS.search(name) is not None


def is_canonical_uuid(text: str) -> bool:
    """CompreFace accepts only 36-character UUIDs (length check plus Java's UUID.fromString)."""
    return _UUID.fullmatch(text) is not None


def new_id() -> str:
    """A time-ordered UUID (version 7 layout): ids sort in creation order, which keeps listings and
    collection loads in insertion order without relying on clock resolution, and keeps B-tree inserts
    local. A per-process counter in the random bits keeps ids made within one millisecond ordered."""
    global _last_id_ms, _id_counter
    with _id_lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_id_ms:
            now_ms = _last_id_ms
            _id_counter += 1
        else:
            _last_id_ms, _id_counter = now_ms, secrets.randbits(16)
        if _id_counter >= 1 << 28:  # counter exhausted within one millisecond: borrow the next one
            _last_id_ms, _id_counter = now_ms + 1, 0
            now_ms += 1
        counter = _id_counter
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | (counter >> 16) << 64  # version 7, then 12 bits of counter
    value |= 0b10 << 62 | (counter & 0xFFFF) << 46 | secrets.randbits(46)  # variant, 16 bits counter, random
    return str(uuid.UUID(int=value))


_id_lock = threading.Lock()
_last_id_ms = 0
_id_counter = 0


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows (float32); zero rows stay zero instead of becoming NaN."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def round_half_up(value: float, digits: int = 5) -> float:
    """Java's BigDecimal.setScale(5, HALF_UP) as CompreFace applies it to similarities."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


# --- the admin side ----------------------------------------------------------------------------------


class Role(StrEnum):
    """A global role (of an account) or an application role (of a member); §9.2. Values are the stored
    one-letter codes; the admin API spells them OWNER, ADMINISTRATOR, USER."""

    OWNER = "O"
    ADMINISTRATOR = "A"
    USER = "U"

    @property
    def rank(self) -> int:
        return {"O": 3, "A": 2, "U": 1}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: object) -> Role | None:
        """OWNER, ADMINISTRATOR or USER (any case); None for anything else."""
        if not isinstance(text, str):
            return None
        return cls.__members__.get(text.strip().upper())


@dataclass(frozen=True)
class AccountRecord:
    id: str
    email: str
    name: str | None
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class ApplicationRecord:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class MemberRecord:
    account: AccountRecord
    role: Role


@dataclass(frozen=True)
class ServiceDetails:
    """A service as the admin side shows it."""

    id: str
    name: str
    type: ServiceType
    api_key: str
    application_id: str | None
    created_at: datetime
    example_count: int
    revision: int = 0
    embedder: str = "sface"  # the collection's embedder (see ServiceRecord)

    @property
    def record(self) -> ServiceRecord:
        return ServiceRecord(self.id, self.name, self.type, self.api_key, self.revision, self.embedder)
