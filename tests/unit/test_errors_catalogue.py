"""The error catalogue pinned against the spec: CompreFace §6.2 entries verbatim, plus the decisions D3/D4/D14."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facekeeper.errors import Error, ErrorSpec, FacekeeperError

# name -> (HTTP status, CompreFace code, message template). CompreFace entries are copied from §6.2.
EXPECTED: dict[str, tuple[int, int, str]] = {
    # §6.2, CompreFace wording
    "UNKNOWN": (400, 0, "Something went wrong, please try again"),
    "FIELD_EMPTY": (400, 5, "Field {field} cannot be empty"),
    "SERVICE_NOT_FOUND": (404, 10, "{type} service with API Key {api_key} not found"),
    "MISSING_API_KEY": (400, 20, "Missing header: x-api-key"),
    "BAD_EXTENSION": (400, 21, "File [{filename}] has an unavailable extension"),
    "NOT_BASE64": (400, 21, "Provided value is not Base64"),
    "API_KEY_NOT_UUID": (400, 26, "Service API key should be UUID"),
    "CONSTRAINT_VIOLATION": (400, 26, "{details}"),
    "SUBJECT_NAME_EMPTY": (400, 26, "Subject name cannot be empty"),
    "SUBJECT_NAME_SIZE": (400, 26, "Subject name size must be between 1 and 50"),
    "NO_FACES_FOUND": (400, 28, "No face is found in the given image"),
    "TOO_MANY_FACES": (400, 31, "More than one face in the source image"),
    "MISSING_PARAMETER": (400, 33, "Required parameter {name} is missing"),
    "MISSING_PART": (400, 34, "Required part {name} is missing"),
    "SUBJECT_NAME_CHARACTERS": (400, 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
    "WRONG_EMBEDDING_COUNT": (400, 37, "{expected} embeddings were expected, but {given} were provided"),
    "SUBJECT_NOT_FOUND": (404, 42, "Subject {subject} not found"),
    "SUBJECT_ALREADY_EXISTS": (400, 43, "Subject already exists"),
    "EXAMPLE_NOT_FOUND": (404, 44, "Image {image_id} not found"),
    "IMAGE_ID_INCORRECT": (404, 44, "Image Id is incorrect"),
    # D14: 405 (CompreFace answers 404) with CompreFace's message
    "METHOD_NOT_ALLOWED": (405, 0, "Request method '{method}' not supported"),
    # D3: CompreFace's empty-body 404/415 get a JSON body
    "NOT_FOUND_PATH": (404, 0, "No handler found for {method} {path}"),
    "UNSUPPORTED_MEDIA_TYPE": (415, 26, "Content type '{content_type}' not supported"),
    # D4: limits
    "FILE_TOO_LARGE": (400, 0, "The file is too large: {size} bytes exceed the limit of {limit} bytes"),
    "REQUEST_TOO_LARGE": (413, 0, "The request body exceeds the limit of {limit} bytes"),
    "IMAGE_TOO_LARGE": (400, 0, "The image is too large: {pixels} pixels exceed the limit of {limit} pixels"),
    # §6.2 "embedding dimension mismatch" is a code-0 400, with a message saying what was wrong
    "EMBEDDING_DIMENSION_MISMATCH": (
        400,
        0,
        "Embedding has {given} dimensions, the collection's model uses {expected}",
    ),
    # Facekeeper's own service management
    "SERVICE_NAME_INVALID": (400, 26, "Service name {details}"),
    "SERVICE_NAME_TAKEN": (400, 17, "Name {name} is not unique"),
    "SERVICE_UNKNOWN": (404, 10, "Service {name} not found"),
    "SERVICE_TYPE_INVALID": (400, 26, "Model Type '{type}' doesn't exist!"),
    # bulk import and export (CLI)
    "SERVICE_NOT_RECOGNITION": (
        400,
        0,
        "Service {name} is a {type} service; only recognition services hold subjects and examples",
    ),
    "FILE_UNUSABLE": (400, 0, "Cannot {action} {path}: {reason}"),
    "ARCHIVE_INVALID": (400, 0, "{path} is not a usable Facekeeper archive: {reason}"),
    "OUTPUT_EXISTS": (400, 0, "{path} already exists; remove it or choose another name"),
    "CALCULATORS_MIXED": (
        400,
        0,
        "Service {name} holds examples from several calculators ({calculators}); export needs one",
    ),
    "CALCULATOR_CONFLICT": (
        400,
        0,
        "Service {name} holds examples from {existing}; adding examples from {incoming} would mix calculators",
    ),
    "CALCULATOR_MISMATCH": (
        400,
        0,
        "The archive's embeddings come from {archive} but this server computes {server}, "
        "and the archive holds no images to compute them again",
    ),
    # start-up failures, never sent as a face-API response
    "EMBEDDER_CHANGED": (
        409,
        0,
        "Service {name} switched its embedder to {embedder} during this request; send it again",
    ),
    "MIGRATION_NEEDS_IMAGES": (
        400,
        0,
        "Service {name} has {missing} of {total} examples without a stored image (saved with "
        "save_images_to_db=false or imported without images): they cannot be embedded again by {embedder}",
    ),
    "MIGRATION_FACE_LOST": (
        400,
        0,
        "No face is found again in the stored image of example {image_id} (subject {subject})",
    ),
    "MIGRATION_RUNNING": (400, 27, "A migration of service {name} is already running"),
    "EMBEDDER_UNKNOWN": (400, 0, "Unknown embedder {name}; known: {known}"),
    "DATA_DIR_NOT_WRITABLE": (500, 0, "Data directory {path} is not writable: {reason}"),
    "MODEL_UNAVAILABLE": (503, 0, "Model {name} cannot be loaded: {reason}"),
    # issue 9: hostile input and faults (docs/security.md)
    "IMAGE_FORMAT_NOT_ALLOWED": (400, 28, "The file is not an image in an allowed format ({allowed})"),
    "IMAGE_TOO_COMPLEX": (400, 0, "The JPEG has more than {limit} scans; decoding it would take too long"),
    "JSON_TOO_DEEP": (400, 26, "The JSON body is nested too deeply"),
    "JSON_TOO_LARGE": (400, 26, "The JSON body holds more than {limit} {items}"),
    "EMBEDDING_VALUES_INVALID": (400, 26, "{field} must contain only finite numbers within float32 range"),
    "TOO_MANY_EMBEDDINGS": (400, 0, "{given} embeddings exceed the limit of {limit} per request"),
    "TOO_MANY_MATCHES": (
        400,
        0,
        "The answer would hold {given} matches, over the limit of {limit}; lower prediction_count",
    ),
    "SUBJECT_NAME_NUL": (400, 26, "Subject name cannot contain the NUL character"),
    # the admin side (docs/admin.md); codes from CompreFace's admin catalogue (§9.3) where one fits
    "NOT_SIGNED_IN": (401, 0, "Sign in first: no valid session"),
    "SIGN_IN_FAILED": (401, 18, "Wrong email or password"),
    "ACCESS_DENIED": (403, 1, "Access denied"),
    "CSRF_FAILED": (403, 1, "Missing or wrong X-CSRF-Token header: reload the page and try again"),
    "TOO_MANY_ATTEMPTS": (429, 0, "Too many failed attempts; try again in {retry_after} s"),
    "APPLICATION_NOT_FOUND": (404, 2, "App {application} not found"),
    "EMAIL_TAKEN": (400, 4, "This email already registered"),
    "ACTION_NOT_ALLOWED": (400, 9, "Action not allowed for current user: {reason}"),
    "OWN_ROLE": (400, 14, "User can't change their role"),
    "ACCOUNT_NOT_FOUND": (404, 16, "User {account} does not exist"),
    "ALREADY_MEMBER": (400, 19, "User {account} already has access to application {application}"),
    "EMAIL_INVALID": (400, 22, "Email format is incorrect"),
    "PASSWORD_WRONG": (400, 18, "User's password is incorrect"),
    "PASSWORD_INVALID": (400, 26, "Password size must be between 8 and 255"),
    "ACCOUNT_NAME_INVALID": (400, 26, "Name size must be at most 100 characters"),
    "APPLICATION_NAME_INVALID": (400, 26, "Application name {details}"),
    "ROLE_INVALID": (400, 26, "Role '{role}' doesn't exist! Use OWNER, ADMINISTRATOR or USER"),
    "OWNER_EXISTS": (409, 9, "This server already has an owner: sign in instead"),
    "SETUP_CODE_WRONG": (403, 1, "Wrong setup code: use the newest one printed in the server's start-up output"),
    "HEADERS_TOO_LARGE": (431, 0, "The request headers exceed the limit of {limit} bytes"),
    "HEADERS_TIMEOUT": (408, 0, "The request headers did not arrive within {limit_s} s"),
    "BODY_TIMEOUT": (408, 0, "The request body stalled for more than {limit_s} s"),
    "TOO_MANY_CONNECTIONS": (503, 0, "Too many open connections (limit {limit}); try again later"),
    "SHUTTING_DOWN": (503, 0, "The server is shutting down; try again later"),
    "REQUEST_TIMEOUT": (503, 0, "The request was not answered within {limit_s} s; try again later"),
    "STORAGE_UNAVAILABLE": (503, 0, "The database cannot be used right now ({reason}); try again later"),
    "DATABASE_UNREACHABLE": (503, 0, "Cannot use the database {url}: {reason}"),
}

NON_HTTP_STARTUP_ERRORS = {"DATA_DIR_NOT_WRITABLE", "MODEL_UNAVAILABLE"}
# The server's trouble, not the client's: 5xx with Retry-After (issue 9, finding 7).
SERVER_FAULTS = {
    "SHUTTING_DOWN",
    "TOO_MANY_CONNECTIONS",
    "REQUEST_TIMEOUT",
    "STORAGE_UNAVAILABLE",
    "DATABASE_UNREACHABLE",
}


def test_catalogue_has_exactly_the_expected_entries() -> None:
    assert set(Error.__members__) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_entry_matches_spec(name: str) -> None:
    error = Error[name]
    assert (error.http_status, error.code, error.message) == EXPECTED[name]


def test_compreface_messages_verbatim_spot_checks() -> None:
    # Written out as in the spec text rather than as Python escapes.
    spec_text = r"The name cannot contain the following special characters: ';', '/', '\'"
    assert spec_text == Error.SUBJECT_NAME_CHARACTERS.message
    assert Error.SUBJECT_NAME_CHARACTERS.message.endswith("'\\'")
    assert not Error.SUBJECT_NAME_EMPTY.message.endswith("; ")
    assert not Error.SUBJECT_NAME_SIZE.message.endswith("; ")


SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "compreface-api.md"
# Entries copied from §6.2 (CONSTRAINT_VIOLATION is free text there: '<msg>; [<msg>; …]').
COMPREFACE_ENTRIES = [
    "UNKNOWN",
    "FIELD_EMPTY",
    "SERVICE_NOT_FOUND",
    "MISSING_API_KEY",
    "BAD_EXTENSION",
    "NOT_BASE64",
    "API_KEY_NOT_UUID",
    "SUBJECT_NAME_EMPTY",
    "SUBJECT_NAME_SIZE",
    "NO_FACES_FOUND",
    "TOO_MANY_FACES",
    "MISSING_PARAMETER",
    "MISSING_PART",
    "SUBJECT_NAME_CHARACTERS",
    "WRONG_EMBEDDING_COUNT",
    "SUBJECT_NOT_FOUND",
    "SUBJECT_ALREADY_EXISTS",
    "EXAMPLE_NOT_FOUND",
    "IMAGE_ID_INCORRECT",
]


def spec_error_table() -> set[tuple[int, int, str]]:
    """(code, HTTP, message with %s placeholders) for every row of the §6.2 table."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("### 6.2 Face-API error table", 1)[1].split("### 6.3", 1)[0]
    rows: set[tuple[int, int, str]] = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].split()[0].isdigit():
            continue
        code = int(cells[0].split()[0])
        status = int(cells[1].strip("*"))
        for message in re.findall(r"`([^`]*)`", cells[2]):
            rows.add((code, status, message.replace("%d", "%s")))
    return rows


@pytest.mark.skipif(not SPEC.exists(), reason="shared spec not available")
@pytest.mark.parametrize("name", COMPREFACE_ENTRIES)
def test_compreface_entry_appears_in_spec_table(name: str) -> None:
    error = Error[name]
    message = re.sub(r"\{\w+\}", "%s", error.message)
    assert (error.code, error.http_status, message) in spec_error_table()


@pytest.mark.skipif(not SPEC.exists(), reason="shared spec not available")
def test_spec_table_parsed() -> None:
    rows = spec_error_table()
    assert (43, 400, "Subject already exists") in rows
    assert len(rows) >= 25


def test_no_enum_aliasing() -> None:
    assert len(list(Error)) == len(Error.__members__)
    assert len({error.value for error in Error}) == len(Error.__members__)
    for name, member in Error.__members__.items():
        assert member.name == name, f"{name} is an alias of {member.name}"


@pytest.mark.parametrize("error", list(Error), ids=lambda e: e.name)
def test_entry_shape(error: Error) -> None:
    assert isinstance(error.value, ErrorSpec)
    assert type(error.exit_code) is int
    assert error.exit_code > 0
    assert type(error.code) is int
    if error.name in NON_HTTP_STARTUP_ERRORS | SERVER_FAULTS:
        assert 500 <= error.http_status < 600
    else:
        assert 400 <= error.http_status < 500


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (Error.SUBJECT_NOT_FOUND, 1),
        (Error.SERVICE_NOT_FOUND, 1),
        (Error.EXAMPLE_NOT_FOUND, 1),
        (Error.CONSTRAINT_VIOLATION, 2),
        (Error.SUBJECT_ALREADY_EXISTS, 3),
        (Error.SERVICE_NAME_TAKEN, 3),
        (Error.UNKNOWN, 4),
        (Error.DATA_DIR_NOT_WRITABLE, 5),
        (Error.MODEL_UNAVAILABLE, 5),
        (Error.ARCHIVE_INVALID, 2),
        (Error.CALCULATOR_MISMATCH, 3),
        (Error.OUTPUT_EXISTS, 3),
    ],
)
def test_exit_codes(error: Error, exit_code: int) -> None:
    assert error.exit_code == exit_code


# --- FacekeeperError ------------------------------------------------------------------------------


def test_body_is_exactly_message_and_code() -> None:
    error = FacekeeperError(Error.SERVICE_NOT_FOUND, type="Recognition", api_key="k")
    assert error.body() == {"message": "Recognition service with API Key k not found", "code": 10}
    assert list(error.body()) == ["message", "code"]


def test_error_without_values_keeps_template_text() -> None:
    error = FacekeeperError(Error.NO_FACES_FOUND)
    assert error.body() == {"message": "No face is found in the given image", "code": 28}
    assert error.http_status == 400
    assert str(error) == "No face is found in the given image"


def test_values_fill_the_template() -> None:
    error = FacekeeperError(Error.CONSTRAINT_VIOLATION, details="Subject name is empty; ")
    assert (error.message, error.code, error.http_status) == ("Subject name is empty; ", 26, 400)
    assert FacekeeperError(Error.WRONG_EMBEDDING_COUNT, expected=1, given=0).message == (
        "1 embeddings were expected, but 0 were provided"
    )


def test_braces_in_values_are_not_reformatted() -> None:
    error = FacekeeperError(Error.SUBJECT_NOT_FOUND, subject="{x}")
    assert error.message == "Subject {x} not found"


def test_error_is_an_exception_carrying_its_entry() -> None:
    with pytest.raises(FacekeeperError) as caught:
        raise FacekeeperError(Error.SUBJECT_ALREADY_EXISTS)
    assert caught.value.error is Error.SUBJECT_ALREADY_EXISTS
    assert caught.value.values == {}
