"""Request parameters as CompreFace (Spring) reads them: from the query string or from multipart
text fields, repeated values joined with ",", an empty value meaning the default, booleans spelled
true/on/yes/1 or false/off/no/0 in any case.

Spring answers unparsable numbers and booleans with an empty 400; Facekeeper sends the same status
with a JSON body saying what was wrong (D3), because the SDKs call `.json()` on every response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from facekeeper.domain import is_canonical_uuid
from facekeeper.errors import Error, FacekeeperError

_INTEGER = re.compile(r"^[+-]?\d{1,10}$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(NaN|Infinity)$")
_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}


def _bad(name: str, value: str, kind: str) -> FacekeeperError:
    return FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{name}: '{value}' is not a valid {kind}; ")


class Params:
    """All request parameters with their multiple values, query string first."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def text(self, name: str) -> str | None:
        values = self._values.get(name)
        return ",".join(values) if values is not None else None

    def _present(self, name: str) -> str | None:
        value = self.text(name)
        return None if value is None or value.strip() == "" else value.strip()

    def integer(self, name: str, default: int) -> int:
        value = self._present(name)
        if value is None:
            return default
        if not _INTEGER.match(value) or not -(2**31) <= int(value) < 2**31:
            raise _bad(name, value, "integer")
        return int(value)

    def decimal(self, name: str) -> float | None:
        value = self._present(name)
        if value is None:
            return None
        if not _DECIMAL.match(value):
            raise _bad(name, value, "number")
        return float(value.replace("Infinity", "inf"))

    def boolean(self, name: str, default: bool) -> bool:
        value = self._present(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise _bad(name, value, "boolean (true/false)")

    def lenient_integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        """Spring Data's `page`/`size`: junk or out-of-range values silently become the default."""
        value = self._present(name)
        if value is None or not _INTEGER.match(value):
            return default
        number = int(value)
        if number < minimum:
            return default
        return min(number, maximum)


def face_plugins(value: str | None) -> frozenset[str]:
    """Slugs split on commas and whitespace; unknown ones are kept here and ignored by the pipeline."""
    if not value:
        return frozenset()
    return frozenset(slug.lower() for slug in re.split(r"[,\s]+", value) if slug)


def min_violations(checks: list[tuple[bool, str]]) -> None:
    """CompreFace reports every @Min violation at once, each message followed by "; "."""
    details = "".join(f"{message}; " for failed, message in checks if failed)
    if details:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=details)


def uuid_path(value: str, name: str = "image_id") -> str:
    """Path ids must be UUIDs (Spring fails the binding otherwise); stored ids are lower-case."""
    if not is_canonical_uuid(value):
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{name}: '{value}' is not a valid UUID; ")
    return value.lower()
