"""Request parameters read the way CompreFace (Spring) reads them (spec §3, §4.2.2)."""

from __future__ import annotations

import math

import pytest

from facekeeper.api.params import Params, face_plugins, min_violations, uuid_path
from facekeeper.errors import FacekeeperError


def one(name: str, value: str) -> Params:
    return Params([(name, value)])


def assert_constraint_violation(error: pytest.ExceptionInfo[FacekeeperError], message: str) -> None:
    assert error.value.code == 26
    assert error.value.http_status == 400
    assert error.value.message == message


# --- text -----------------------------------------------------------------------------------------


def test_repeated_values_are_joined_with_commas() -> None:
    params = Params([("face_plugins", "landmarks"), ("face_plugins", "gender"), ("face_plugins", "age")])
    assert params.text("face_plugins") == "landmarks,gender,age"


def test_query_values_come_before_form_values() -> None:
    query = [("subject", "from-query")]
    form = [("subject", "from-form")]
    assert Params(query + form).text("subject") == "from-query,from-form"


def test_absent_parameter_is_none_and_empty_value_is_empty_text() -> None:
    params = Params([("subject", "")])
    assert params.text("missing") is None
    assert params.text("subject") == ""


def test_parameters_are_case_sensitive_by_name() -> None:
    assert Params([("Limit", "3")]).integer("limit", 0) == 0


# --- integer --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5), ("+5", 5), ("-1", -1), ("0", 0), (" 7 ", 7), ("2147483647", 2**31 - 1), ("-2147483648", -(2**31))],
)
def test_integer_parses(value: str, expected: int) -> None:
    assert one("limit", value).integer("limit", 99) == expected


@pytest.mark.parametrize("value", ["", "   "])
def test_integer_empty_value_is_default(value: str) -> None:
    assert one("limit", value).integer("limit", 42) == 42


def test_integer_absent_is_default() -> None:
    assert Params([]).integer("limit", 42) == 42


@pytest.mark.parametrize("value", ["abc", "1.5", "1e3", "5a", "--1", "2147483648", "-2147483649", "1,2"])
def test_integer_junk_is_code_26(value: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        one("limit", value).integer("limit", 0)
    assert_constraint_violation(error, f"limit: '{value.strip()}' is not a valid integer; ")


def test_repeated_integer_is_joined_and_therefore_junk() -> None:
    with pytest.raises(FacekeeperError) as error:
        Params([("limit", "1"), ("limit", "2")]).integer("limit", 0)
    assert error.value.code == 26


# --- decimal --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.8", 0.8),
        ("1e-1", 0.1),
        ("1E2", 100.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("+0.25", 0.25),
        ("-0.5", -0.5),
        ("1", 1.0),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
    ],
)
def test_decimal_parses(value: str, expected: float) -> None:
    assert one("det_prob_threshold", value).decimal("det_prob_threshold") == expected


def test_decimal_nan_is_accepted_as_nan() -> None:
    value = one("det_prob_threshold", "NaN").decimal("det_prob_threshold")
    assert value is not None and math.isnan(value)


@pytest.mark.parametrize("value", ["", " "])
def test_decimal_empty_is_none(value: str) -> None:
    assert one("det_prob_threshold", value).decimal("det_prob_threshold") is None
    assert Params([]).decimal("det_prob_threshold") is None


@pytest.mark.parametrize("value", ["abc", "0,8", "inf", "nan", "1e", "e5", ".", "1.2.3", "0.8x"])
def test_decimal_junk_is_code_26(value: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        one("det_prob_threshold", value).decimal("det_prob_threshold")
    assert_constraint_violation(error, f"det_prob_threshold: '{value}' is not a valid number; ")


# --- boolean --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "on", "ON", "yes", "Yes", "1", " true "])
def test_boolean_true_spellings(value: str) -> None:
    assert one("status", value).boolean("status", False) is True


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "off", "Off", "no", "NO", "0"])
def test_boolean_false_spellings(value: str) -> None:
    assert one("status", value).boolean("status", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_boolean_empty_or_absent_is_default(default: bool) -> None:
    assert one("status", "").boolean("status", default) is default
    assert Params([]).boolean("status", default) is default


@pytest.mark.parametrize("value", ["maybe", "2", "t", "y", "n", "truee", "-1"])
def test_boolean_junk_is_code_26(value: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        one("status", value).boolean("status", False)
    assert_constraint_violation(error, f"status: '{value}' is not a valid boolean (true/false); ")


# --- lenient page / size --------------------------------------------------------------------------


def page(value: str | None) -> int:
    params = Params([] if value is None else [("page", value)])
    return params.lenient_integer("page", 0, 0, 2**31 - 1)


def size(value: str | None) -> int:
    params = Params([] if value is None else [("size", value)])
    return params.lenient_integer("size", 20, 1, 2000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), ("", 0), ("3", 3), ("+3", 3), ("junk", 0), ("-1", 0), ("1.5", 0), ("99999999999", 0)],
)
def test_lenient_page(value: str | None, expected: int) -> None:
    assert page(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 20),
        ("", 20),
        ("5", 5),
        ("1", 1),
        ("0", 20),
        ("-3", 20),
        ("junk", 20),
        ("2000", 2000),
        ("2001", 2000),
        ("1000000", 2000),
    ],
)
def test_lenient_size(value: str | None, expected: int) -> None:
    assert size(value) == expected


# --- face_plugins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, frozenset()),
        ("", frozenset()),
        ("age", {"age"}),
        ("landmarks,gender,age,pose", {"landmarks", "gender", "age", "pose"}),
        ("age, gender", {"age", "gender"}),
        ("age gender\tmask\ncalculator", {"age", "gender", "mask", "calculator"}),
        (",,age,, ,gender,", {"age", "gender"}),
        ("AGE,Gender", {"age", "gender"}),
        ("undefined", {"undefined"}),
        ("age,age", {"age"}),
    ],
)
def test_face_plugins_split_on_commas_and_whitespace(value: str | None, expected: set[str]) -> None:
    assert face_plugins(value) == frozenset(expected)


# --- min_violations -------------------------------------------------------------------------------


def test_min_violations_reports_every_failure_each_followed_by_semicolon() -> None:
    with pytest.raises(FacekeeperError) as error:
        min_violations(
            [
                (True, "Limit should be equal or greater than 0"),
                (False, "never shown"),
                (True, "prediction_count should be equal or greater than 1"),
            ]
        )
    assert_constraint_violation(
        error, "Limit should be equal or greater than 0; prediction_count should be equal or greater than 1; "
    )


def test_min_violations_single_failure() -> None:
    with pytest.raises(FacekeeperError) as error:
        min_violations([(True, "Limit should be equal or greater than 0")])
    assert error.value.message == "Limit should be equal or greater than 0; "


def test_min_violations_without_failure_does_nothing() -> None:
    min_violations([(False, "a"), (False, "b")])
    min_violations([])


# --- uuid_path ------------------------------------------------------------------------------------


def test_uuid_path_lower_cases() -> None:
    assert uuid_path("3FA85F64-5717-4562-B3FC-2C963F66AFA6") == "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "3fa85f64571745 62b3fc2c963f66afa6",
        "3fa85f6457174562b3fc2c963f66afa6",
        "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6a",
        "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
        "gfa85f64-5717-4562-b3fc-2c963f66afa6",
    ],
)
def test_uuid_path_rejects_non_uuid(value: str) -> None:
    with pytest.raises(FacekeeperError) as error:
        uuid_path(value)
    assert_constraint_violation(error, f"image_id: '{value}' is not a valid UUID; ")


def test_uuid_path_names_the_parameter() -> None:
    with pytest.raises(FacekeeperError) as error:
        uuid_path("x", "api_key")
    assert error.value.message == "api_key: 'x' is not a valid UUID; "


def test_uuid_path_rejects_trailing_newline() -> None:
    """Regression: a `$`-anchored regex also matched before a trailing newline."""
    with pytest.raises(FacekeeperError):
        uuid_path("3fa85f64-5717-4562-b3fc-2c963f66afa6\n")
