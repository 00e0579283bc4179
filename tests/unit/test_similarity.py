"""CompreFace's similarity formula and rounding (spec §7.6), and parsing of client embeddings."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from facekeeper.domain import SimilarityCoefficients, l2_normalize, round_half_up
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.comparison import (
    check_dimension,
    pairwise_similarities,
    parse_embeddings,
    parse_vector,
    similarity_of,
)

FACENET = SimilarityCoefficients(1.1817961, 5.291995557)
ARCFACE_MOBILEFACENET = SimilarityCoefficients(1.26538905, 5.552089201)
ARCFACE_R100_MSFDROP75 = SimilarityCoefficients(1.224676, 6.322647217)
DISTANCES = [0.0, 0.5, 0.8, 1.0, math.sqrt(2), 2.0]


@pytest.mark.parametrize(
    ("coefficients", "expected"),
    [
        pytest.param(FACENET, [1.0, 0.99927, 0.98272, 0.8726, 0.07872, 0.00017], id="facenet-20180402"),
        pytest.param(ARCFACE_MOBILEFACENET, [1.0, 0.9998, 0.99433, 0.95012, 0.16076, 0.00029], id="arcface-mobile"),
        pytest.param(ARCFACE_R100_MSFDROP75, [1.0, 0.9999, 0.99537, 0.94486, 0.08342, 6.0e-5], id="arcface-r100"),
    ],
)
def test_worked_table_of_spec_7_6(coefficients: SimilarityCoefficients, expected: list[float]) -> None:
    assert [round_half_up(coefficients.similarity(d), 5) for d in DISTANCES] == expected
    assert [similarity_of(coefficients, d) for d in DISTANCES] == expected


@pytest.mark.parametrize("coefficients", [FACENET, ARCFACE_MOBILEFACENET, ARCFACE_R100_MSFDROP75])
def test_similarity_is_one_half_at_c0(coefficients: SimilarityCoefficients) -> None:
    assert coefficients.similarity(coefficients.c0) == 0.5


def test_vectorised_similarities_match_scalar() -> None:
    distances = np.asarray(DISTANCES)
    np.testing.assert_allclose(FACENET.similarities(distances), [FACENET.similarity(d) for d in DISTANCES])


def test_similarity_decreases_with_distance() -> None:
    values = [FACENET.similarity(d) for d in np.linspace(0, 2, 50)]
    assert values == sorted(values, reverse=True)
    assert all(0.0 < v < 1.0 for v in values)


# --- round_half_up --------------------------------------------------------------------------------


def test_round_half_up_uses_the_shortest_decimal_not_the_binary_value() -> None:
    # The double nearest 0.123455 lies just below it, so binary rounding gives 0.12345; Java's
    # BigDecimal.valueOf goes through Double.toString ("0.123455") and HALF_UP gives 0.12346.
    assert Decimal(float("0.123455")) < Decimal("0.123455")
    assert round(0.123455, 5) == 0.12345
    assert round_half_up(0.123455, 5) == 0.12346


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.123455, 5, 0.12346),
        (0.123454999, 5, 0.12345),
        (0.000065, 5, 0.00007),
        (0.000064999, 5, 0.00006),
        (0.999995, 5, 1.0),
        (0.5, 0, 1.0),
        (2.5, 0, 3.0),  # HALF_UP, not banker's rounding (round(2.5) == 2)
        (-0.123455, 5, -0.12346),  # away from zero, as BigDecimal does
        (0.125, 2, 0.13),
        (1.0, 5, 1.0),
        (0.0, 5, 0.0),
        (1e-7, 5, 0.0),
    ],
)
def test_round_half_up(value: float, digits: int, expected: float) -> None:
    assert round_half_up(value, digits) == expected


def test_round_half_up_default_is_five_digits() -> None:
    assert round_half_up(0.876543219) == 0.87654


# --- parse_embeddings / parse_vector ---------------------------------------------------------------


def _dimension_of(value: object) -> int:
    """The calculator dimension a test case means: its first row's length (the checks before it win)."""
    first = value[0] if isinstance(value, list) and value else None
    return len(first) if isinstance(first, list) else (len(value) if isinstance(value, list) else 2)


def embeddings(value: object, max_count: int = 100) -> np.ndarray:
    return parse_embeddings(value, "embeddings", max_count=max_count, dimension=_dimension_of(value))


def vector(value: object) -> np.ndarray:
    return parse_vector(value, "source", dimension=_dimension_of(value))


def test_parse_embeddings_returns_float_matrix() -> None:
    matrix = embeddings([[1, 2.5, -3], [0, 0.25, 1e-3]])
    assert np.issubdtype(matrix.dtype, np.floating)
    assert matrix.shape == (2, 3)
    np.testing.assert_allclose(matrix, [[1, 2.5, -3], [0, 0.25, 1e-3]], rtol=1e-6)


def test_parse_vector_returns_float_vector() -> None:
    parsed = vector([1, 2, 3])
    assert np.issubdtype(parsed.dtype, np.floating)
    assert parsed.shape == (3,)
    assert parsed.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("value", [None, [], [[]], [[], []], {}, "x", 3])
def test_parse_embeddings_empty_is_code_5(value: object) -> None:
    with pytest.raises(FacekeeperError) as error:
        embeddings(value)
    assert error.value.code == 5
    assert error.value.http_status == 400
    assert error.value.message == "Field embeddings cannot be empty"


@pytest.mark.parametrize("value", [None, [], "abc", {}])
def test_parse_vector_empty_is_code_5_naming_the_field(value: object) -> None:
    with pytest.raises(FacekeeperError) as error:
        vector(value)
    assert (error.value.code, error.value.message) == (5, "Field source cannot be empty")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[1, 2], [3]], "embeddings must all have the same length; "),
        ([[1, 2], [3, 4, 5]], "embeddings must all have the same length; "),
        ([1, 2, 3], "embeddings must be a list of number lists; "),
        ([[1, 2], 3], "embeddings must be a list of number lists; "),
        ([[1, "2"]], "embeddings must contain only numbers; "),
        ([[1, None]], "embeddings must contain only numbers; "),
        ([[1, [2]]], "embeddings must contain only numbers; "),
        ([[True, 0.5]], "embeddings must contain only numbers; "),
        ([[1.0, False]], "embeddings must contain only numbers; "),
    ],
)
def test_parse_embeddings_bad_content_is_code_26(value: object, message: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        embeddings(value)
    assert error.value.error is Error.CONSTRAINT_VIOLATION
    assert (error.value.code, error.value.http_status, error.value.message) == (26, 400, message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, "a"], "source must contain only numbers; "),
        ([True], "source must contain only numbers; "),
    ],
)
def test_parse_vector_bad_content_is_code_26(value: object, message: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        vector(value)
    assert (error.value.code, error.value.message) == (26, message)


@pytest.mark.parametrize(
    "value", [[[1.0, float("nan")]], [[1.0, float("inf")]], [[-float("inf"), 1.0]], [[3.5e38, 1.0]], [[-1e39, 0]]]
)
def test_values_beyond_float32_are_refused(value: object) -> None:
    """Issue 9: 1e39 passed as a finite double, became inf in float32 and NaN in the answer (code 0)."""
    with pytest.raises(FacekeeperError) as error:
        embeddings(value)
    assert error.value.error is Error.EMBEDDING_VALUES_INVALID
    assert error.value.message == "embeddings must contain only finite numbers within float32 range"


def test_largest_float32_is_accepted() -> None:
    assert embeddings([[3.4028234e38, -3.4028234e38]]).shape == (1, 2)


def test_embedding_count_is_limited_before_any_row_is_read() -> None:
    with pytest.raises(FacekeeperError) as error:
        embeddings([[1.0]] * 101, max_count=100)
    assert error.value.error is Error.TOO_MANY_EMBEDDINGS
    assert error.value.message == "101 embeddings exceed the limit of 100 per request"


def test_dimension_must_match_the_calculator() -> None:
    with pytest.raises(FacekeeperError) as error:
        parse_embeddings([[1.0, 2.0, 3.0]], "embeddings", max_count=10, dimension=128)
    assert error.value.error is Error.EMBEDDING_DIMENSION_MISMATCH


def test_parse_embeddings_huge_integer_is_code_26() -> None:
    """Regression: an integer beyond any double raised a raw OverflowError (400 code 0 + traceback)."""
    with pytest.raises(FacekeeperError) as error:
        embeddings([[10**400, 1]])
    assert error.value.code == 26


# --- pairwise_similarities --------------------------------------------------------------------------


def test_pairwise_similarities_normalise_both_sides() -> None:
    source = np.asarray([2.0, 0.0], dtype=np.float32)
    targets = np.asarray([[5.0, 0.0], [0.0, 3.0], [-1.0, 0.0]], dtype=np.float32)
    # distances between unit vectors: 0, sqrt(2), 2
    assert pairwise_similarities(FACENET, source, targets) == [1.0, 0.07872, 0.00017]


def test_pairwise_similarities_match_formula_on_random_vectors() -> None:
    rng = np.random.default_rng(3)
    source = rng.normal(size=128).astype(np.float32)
    targets = rng.normal(size=(4, 128)).astype(np.float32)
    distances = np.linalg.norm(l2_normalize(targets) - l2_normalize(source), axis=1)
    expected = [round_half_up(FACENET.similarity(float(d))) for d in distances]
    assert pairwise_similarities(FACENET, source, targets) == expected


def test_pairwise_similarities_dimension_mismatch_is_code_0_http_400() -> None:
    with pytest.raises(FacekeeperError) as error:
        pairwise_similarities(FACENET, np.ones(3, dtype=np.float32), np.ones((2, 4), dtype=np.float32))
    assert error.value.error is Error.EMBEDDING_DIMENSION_MISMATCH
    assert (error.value.code, error.value.http_status) == (0, 400)
    assert error.value.message == "Embedding has 4 dimensions, the collection's model uses 3"


def test_check_dimension() -> None:
    check_dimension(128, 128)
    check_dimension(5, None)
    with pytest.raises(FacekeeperError) as error:
        check_dimension(5, 128)
    assert error.value.message == "Embedding has 5 dimensions, the collection's model uses 128"
