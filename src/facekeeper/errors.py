"""The one error catalogue: every failure a user can see, with its HTTP status, CompreFace code,
message template and CLI exit code.

Services raise `FacekeeperError(Error.X, **values)`; the API renders `{"message", "code"}` and the CLI
prints the message and exits with `exit_code`. Messages are part of the CompreFace contract (clients
compare their text), so they are copied verbatim, quirks such as the trailing "; " included.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple


class ErrorSpec(NamedTuple):
    http_status: int
    code: int
    message: str
    exit_code: int


class Error(ErrorSpec, Enum):
    # CompreFace §6.2; exit codes: 1 = not found, 2 = bad input, 3 = conflict, 4 = internal,
    # 5 = start-up problem (data directory, models), 6 = database unreachable or failing.
    UNKNOWN = ErrorSpec(400, 0, "Something went wrong, please try again", 4)
    METHOD_NOT_ALLOWED = ErrorSpec(405, 0, "Request method '{method}' not supported", 2)
    NOT_FOUND_PATH = ErrorSpec(404, 0, "No handler found for {method} {path}", 2)
    FILE_TOO_LARGE = ErrorSpec(400, 0, "The file is too large: {size} bytes exceed the limit of {limit} bytes", 2)
    REQUEST_TOO_LARGE = ErrorSpec(413, 0, "The request body exceeds the limit of {limit} bytes", 2)
    IMAGE_TOO_LARGE = ErrorSpec(400, 0, "The image is too large: {pixels} pixels exceed the limit of {limit} pixels", 2)
    EMBEDDING_DIMENSION_MISMATCH = ErrorSpec(
        400, 0, "Embedding has {given} dimensions, the collection's model uses {expected}", 2
    )
    FIELD_EMPTY = ErrorSpec(400, 5, "Field {field} cannot be empty", 2)
    SERVICE_NOT_FOUND = ErrorSpec(404, 10, "{type} service with API Key {api_key} not found", 1)
    MISSING_API_KEY = ErrorSpec(400, 20, "Missing header: x-api-key", 2)
    BAD_EXTENSION = ErrorSpec(400, 21, "File [{filename}] has an unavailable extension", 2)
    NOT_BASE64 = ErrorSpec(400, 21, "Provided value is not Base64", 2)
    API_KEY_NOT_UUID = ErrorSpec(400, 26, "Service API key should be UUID", 2)
    CONSTRAINT_VIOLATION = ErrorSpec(400, 26, "{details}", 2)
    SUBJECT_NAME_EMPTY = ErrorSpec(400, 26, "Subject name cannot be empty", 2)
    SUBJECT_NAME_SIZE = ErrorSpec(400, 26, "Subject name size must be between 1 and 50", 2)
    UNSUPPORTED_MEDIA_TYPE = ErrorSpec(415, 26, "Content type '{content_type}' not supported", 2)
    NO_FACES_FOUND = ErrorSpec(400, 28, "No face is found in the given image", 2)
    TOO_MANY_FACES = ErrorSpec(400, 31, "More than one face in the source image", 2)
    MISSING_PARAMETER = ErrorSpec(400, 33, "Required parameter {name} is missing", 2)
    MISSING_PART = ErrorSpec(400, 34, "Required part {name} is missing", 2)
    SUBJECT_NAME_CHARACTERS = ErrorSpec(
        400, 36, "The name cannot contain the following special characters: ';', '/', '\\'", 2
    )
    WRONG_EMBEDDING_COUNT = ErrorSpec(400, 37, "{expected} embeddings were expected, but {given} were provided", 2)
    SUBJECT_NOT_FOUND = ErrorSpec(404, 42, "Subject {subject} not found", 1)
    SUBJECT_ALREADY_EXISTS = ErrorSpec(400, 43, "Subject already exists", 3)
    EXAMPLE_NOT_FOUND = ErrorSpec(404, 44, "Image {image_id} not found", 1)
    IMAGE_ID_INCORRECT = ErrorSpec(404, 44, "Image Id is incorrect", 1)
    # Facekeeper's own service management (CLI and admin); not part of the CompreFace face API.
    SERVICE_NAME_INVALID = ErrorSpec(400, 26, "Service name {details}", 2)
    SERVICE_NAME_TAKEN = ErrorSpec(400, 17, "Name {name} is not unique", 3)
    SERVICE_UNKNOWN = ErrorSpec(404, 10, "Service {name} not found", 1)
    SERVICE_TYPE_INVALID = ErrorSpec(400, 26, "Model Type '{type}' doesn't exist!", 2)
    # The admin side (accounts, applications, services; docs/admin.md). Codes follow CompreFace's admin
    # catalogue (§9.3) where one fits.
    NOT_SIGNED_IN = ErrorSpec(401, 0, "Sign in first: no valid session", 2)
    SIGN_IN_FAILED = ErrorSpec(401, 18, "Wrong email or password", 2)
    ACCESS_DENIED = ErrorSpec(403, 1, "Access denied", 2)
    CSRF_FAILED = ErrorSpec(403, 1, "Missing or wrong X-CSRF-Token header: reload the page and try again", 2)
    TOO_MANY_ATTEMPTS = ErrorSpec(429, 0, "Too many failed attempts; try again in {retry_after} s", 2)
    APPLICATION_NOT_FOUND = ErrorSpec(404, 2, "App {application} not found", 1)
    EMAIL_TAKEN = ErrorSpec(400, 4, "This email already registered", 3)
    ACTION_NOT_ALLOWED = ErrorSpec(400, 9, "Action not allowed for current user: {reason}", 2)
    OWN_ROLE = ErrorSpec(400, 14, "User can't change their role", 2)
    ACCOUNT_NOT_FOUND = ErrorSpec(404, 16, "User {account} does not exist", 1)
    ALREADY_MEMBER = ErrorSpec(400, 19, "User {account} already has access to application {application}", 3)
    EMAIL_INVALID = ErrorSpec(400, 22, "Email format is incorrect", 2)
    PASSWORD_WRONG = ErrorSpec(400, 18, "User's password is incorrect", 2)
    PASSWORD_INVALID = ErrorSpec(400, 26, "Password size must be between 8 and 255", 2)
    ACCOUNT_NAME_INVALID = ErrorSpec(400, 26, "Name size must be at most 100 characters", 2)
    APPLICATION_NAME_INVALID = ErrorSpec(400, 26, "Application name {details}", 2)
    ROLE_INVALID = ErrorSpec(400, 26, "Role '{role}' doesn't exist! Use OWNER, ADMINISTRATOR or USER", 2)
    OWNER_EXISTS = ErrorSpec(409, 9, "This server already has an owner: sign in instead", 3)
    SETUP_CODE_WRONG = ErrorSpec(
        403, 1, "Wrong setup code: use the newest one printed in the server's start-up output", 2
    )
    # Bulk import and export (CLI): moving collections between folders, archives and servers.
    SERVICE_NOT_RECOGNITION = ErrorSpec(
        400, 0, "Service {name} is a {type} service; only recognition services hold subjects and examples", 2
    )
    FILE_UNUSABLE = ErrorSpec(400, 0, "Cannot {action} {path}: {reason}", 2)
    ARCHIVE_INVALID = ErrorSpec(400, 0, "{path} is not a usable Facekeeper archive: {reason}", 2)
    OUTPUT_EXISTS = ErrorSpec(400, 0, "{path} already exists; remove it or choose another name", 3)
    CALCULATORS_MIXED = ErrorSpec(
        400, 0, "Service {name} holds examples from several calculators ({calculators}); export needs one", 3
    )
    CALCULATOR_CONFLICT = ErrorSpec(
        400,
        0,
        "Service {name} holds examples from {existing}; adding examples from {incoming} would mix calculators",
        3,
    )
    CALCULATOR_MISMATCH = ErrorSpec(
        400,
        0,
        "The archive's embeddings come from {archive} but this server computes {server}, "
        "and the archive holds no images to compute them again",
        3,
    )
    # Collections own their embedder (docs/models.md): switching one is `facekeeper migrate`.
    EMBEDDER_CHANGED = ErrorSpec(
        409, 0, "Service {name} switched its embedder to {embedder} during this request; send it again", 3
    )
    MIGRATION_NEEDS_IMAGES = ErrorSpec(
        400,
        0,
        "Service {name} has {missing} of {total} examples without a stored image (saved with "
        "save_images_to_db=false or imported without images): they cannot be embedded again by {embedder}",
        3,
    )
    MIGRATION_FACE_LOST = ErrorSpec(
        400, 0, "No face is found again in the stored image of example {image_id} (subject {subject})", 3
    )
    MIGRATION_RUNNING = ErrorSpec(400, 27, "A migration of service {name} is already running", 3)
    EMBEDDER_UNKNOWN = ErrorSpec(400, 0, "Unknown embedder {name}; known: {known}", 2)
    DATA_DIR_NOT_WRITABLE = ErrorSpec(500, 0, "Data directory {path} is not writable: {reason}", 5)
    MODEL_UNAVAILABLE = ErrorSpec(503, 0, "Model {name} cannot be loaded: {reason}", 5)
    # Hostile input and faults (docs/security.md): limits, deadlines, storage failures.
    IMAGE_FORMAT_NOT_ALLOWED = ErrorSpec(400, 28, "The file is not an image in an allowed format ({allowed})", 2)
    IMAGE_TOO_COMPLEX = ErrorSpec(400, 0, "The JPEG has more than {limit} scans; decoding it would take too long", 2)
    JSON_TOO_DEEP = ErrorSpec(400, 26, "The JSON body is nested too deeply", 2)
    JSON_TOO_LARGE = ErrorSpec(400, 26, "The JSON body holds more than {limit} {items}", 2)
    EMBEDDING_VALUES_INVALID = ErrorSpec(400, 26, "{field} must contain only finite numbers within float32 range", 2)
    TOO_MANY_EMBEDDINGS = ErrorSpec(400, 0, "{given} embeddings exceed the limit of {limit} per request", 2)
    TOO_MANY_MATCHES = ErrorSpec(
        400, 0, "The answer would hold {given} matches, over the limit of {limit}; lower prediction_count", 2
    )
    SUBJECT_NAME_NUL = ErrorSpec(400, 26, "Subject name cannot contain the NUL character", 2)
    HEADERS_TOO_LARGE = ErrorSpec(431, 0, "The request headers exceed the limit of {limit} bytes", 2)
    HEADERS_TIMEOUT = ErrorSpec(408, 0, "The request headers did not arrive within {limit_s} s", 2)
    BODY_TIMEOUT = ErrorSpec(408, 0, "The request body stalled for more than {limit_s} s", 2)
    TOO_MANY_CONNECTIONS = ErrorSpec(503, 0, "Too many open connections (limit {limit}); try again later", 4)
    SHUTTING_DOWN = ErrorSpec(503, 0, "The server is shutting down; try again later", 4)
    REQUEST_TIMEOUT = ErrorSpec(503, 0, "The request was not answered within {limit_s} s; try again later", 4)
    STORAGE_UNAVAILABLE = ErrorSpec(503, 0, "The database cannot be used right now ({reason}); try again later", 6)
    DATABASE_UNREACHABLE = ErrorSpec(503, 0, "Cannot use the database {url}: {reason}", 6)


# Enum members with equal values would silently alias each other; every entry must be distinct.
assert len(Error) == len(Error.__members__), "duplicate error catalogue entries"


class FacekeeperError(Exception):
    """A catalogued failure; `values` fill the message template."""

    def __init__(self, error: Error, **values: Any) -> None:
        self.error = error
        self.values = values
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.error.message.format(**self.values) if self.values else self.error.message

    @property
    def http_status(self) -> int:
        return self.error.http_status

    @property
    def code(self) -> int:
        return self.error.code

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code}
