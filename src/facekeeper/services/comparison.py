"""Turning distances into CompreFace similarities, shared by recognition and verification."""

from __future__ import annotations

import numpy as np

from facekeeper.domain import SimilarityCoefficients, l2_normalize, round_half_up
from facekeeper.errors import Error, FacekeeperError

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def parse_embeddings(value: object, field: str, *, max_count: int, dimension: int) -> np.ndarray:
    """A JSON list of at most `max_count` number lists of the calculator's `dimension` -> (n, d) float64;
    anything else is a clear 400, found before any per-number work."""
    if not isinstance(value, list) or not value:
        raise FacekeeperError(Error.FIELD_EMPTY, field=field)
    if len(value) > max_count:
        raise FacekeeperError(Error.TOO_MANY_EMBEDDINGS, given=len(value), limit=max_count)
    rows = value if all(isinstance(row, list) for row in value) else None
    if rows is None:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must be a list of number lists; ")
    return parse_vectors(rows, field, dimension)


def parse_vector(value: object, field: str, *, dimension: int) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise FacekeeperError(Error.FIELD_EMPTY, field=field)
    vector: np.ndarray = parse_vectors([value], field, dimension)[0]
    return vector


def parse_vectors(rows: list[list[object]], field: str, dimension: int) -> np.ndarray:
    lengths = {len(row) for row in rows}
    if 0 in lengths:
        raise FacekeeperError(Error.FIELD_EMPTY, field=field)
    if len(lengths) != 1:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must all have the same length; ")
    check_dimension(lengths.pop(), dimension)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for row in rows for x in row):
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must contain only numbers; ")
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except OverflowError:  # a JSON integer beyond any double
        raise FacekeeperError(Error.EMBEDDING_VALUES_INVALID, field=field) from None
    # Beyond float32 a value overflows to infinity once stored or normalised, and NaN leaves no JSON.
    if not (np.isfinite(matrix).all() and np.abs(matrix).max() <= _FLOAT32_MAX):
        raise FacekeeperError(Error.EMBEDDING_VALUES_INVALID, field=field)
    return matrix  # float64: the response echoes the input exactly


def check_dimension(given: int, expected: int | None) -> None:
    if expected is not None and given != expected:
        raise FacekeeperError(Error.EMBEDDING_DIMENSION_MISMATCH, given=given, expected=expected)


def similarity_of(coefficients: SimilarityCoefficients, distance: float) -> float:
    return round_half_up(coefficients.similarity(distance))


def pairwise_similarities(coefficients: SimilarityCoefficients, source: np.ndarray, targets: np.ndarray) -> list[float]:
    """Similarity of each target row to the one source vector (both sides L2-normalised)."""
    check_dimension(targets.shape[1], source.shape[0])
    distances = np.linalg.norm(l2_normalize(targets) - l2_normalize(source.reshape(1, -1)), axis=1)
    return [similarity_of(coefficients, float(d)) for d in distances]
