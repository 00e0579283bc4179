"""Turning distances into CompreFace similarities, shared by recognition and verification."""

from __future__ import annotations

import numpy as np

from facekeeper.domain import SimilarityCoefficients, l2_normalize, round_half_up
from facekeeper.errors import Error, FacekeeperError


def parse_embeddings(value: object, field: str) -> np.ndarray:
    """A JSON list of equal-length number lists -> (n, d) float32; anything else is a clear 400."""
    if not isinstance(value, list) or not value:
        raise FacekeeperError(Error.FIELD_EMPTY, field=field)
    rows = value if all(isinstance(row, list) for row in value) else None
    if rows is None:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must be a list of number lists; ")
    return parse_vectors(rows, field)


def parse_vector(value: object, field: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise FacekeeperError(Error.FIELD_EMPTY, field=field)
    vector: np.ndarray = parse_vectors([value], field)[0]
    return vector


def parse_vectors(rows: list[list[object]], field: str) -> np.ndarray:
    lengths = {len(row) for row in rows}
    if 0 in lengths:
        raise FacekeeperError(Error.FIELD_EMPTY, field=field)
    if len(lengths) != 1:
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must all have the same length; ")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for row in rows for x in row):
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must contain only numbers; ")
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except OverflowError:  # a JSON integer beyond any double
        matrix = np.array([np.inf])
    if not np.isfinite(matrix).all():
        raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"{field} must contain finite numbers; ")
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
