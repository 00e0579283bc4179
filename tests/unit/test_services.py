"""Subject and API-key use cases on a real SQLite database and the in-memory index, without the face pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from facekeeper.domain import Example, ServiceRecord, ServiceType
from facekeeper.errors import Error, FacekeeperError
from facekeeper.index.changes import Added
from facekeeper.index.memory import InMemoryIndex
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.collection import FaceCollections
from facekeeper.services.examples import ExampleService
from facekeeper.services.subjects import SubjectService, validate_subject_name
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository
from facekeeper.storage.tables import ExampleTable

R = ServiceType.RECOGNITION


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.index = InMemoryIndex()
        self.collections = FaceCollections(db, self.index)
        self.subjects = SubjectService(self.collections)
        self.api_keys = ApiKeyService(db)
        self.examples = ExampleService(self.collections, None, True)  # type: ignore[arg-type]  # deletes only
        self.service = self.api_keys.create("rec", R)

    def fresh(self, service: ServiceRecord | None = None) -> ServiceRecord:
        """The service as a new request would see it after authentication (current revision)."""
        return self.api_keys.authenticate((service or self.service).api_key, R)

    def revision(self, service: ServiceRecord | None = None) -> int:
        with self.db.transaction() as session:
            return ServiceRepository(session).revision((service or self.service).id)

    def enrol(self, subject: str, embedding: list[float], service: ServiceRecord | None = None) -> str:
        """Store an example as enrolment does, without the pipeline, creating the subject if needed."""
        service = service or self.service
        vector = np.asarray(embedding, dtype=np.float32)
        with self.collections.write(service) as write:
            stored = write.subjects.find(service.id, subject) or write.subjects.add(service.id, subject)
            image_id = write.examples.add(service.id, stored.id, vector, "calc", b"img")
            write.record(Added(image_id, stored.name, vector))
        return image_id

    def examples_of(self, subject: str) -> list[str]:
        with self.db.transaction() as session:
            examples, _ = ExampleRepository(session).page(self.service.id, subject, 0, 100)
        return [e.image_id for e in examples]

    def search(self, query: list[float], k: int = 10) -> list[tuple[str, str]]:
        neighbours = self.collections.search(self.fresh(), np.asarray([query], dtype=np.float32), k)[0]
        return [(n.image_id, n.subject) for n in neighbours]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = Database(f"sqlite:///{tmp_path}/t.db")
    db.upgrade()
    yield World(db)
    db.dispose()


def assert_error(caught: pytest.ExceptionInfo[FacekeeperError], code: int, status: int, message: str) -> None:
    assert (caught.value.code, caught.value.http_status, caught.value.message) == (code, status, message)


# --- subject name validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("", 26, "Subject name cannot be empty"),
        ("   ", 26, "Subject name cannot be empty"),
        ("\t\n", 26, "Subject name cannot be empty"),
        (None, 26, "Subject name cannot be empty"),
        (42, 26, "Subject name cannot be empty"),
        ("x" * 51, 26, "Subject name size must be between 1 and 50"),
        ("a/b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("a;b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("a\\b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
    ],
)
def test_create_subject_validation(world: World, name: object, code: int, message: str) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.subjects.create(world.service, name)
    assert_error(caught, code, 400, message)
    assert world.subjects.list(world.service) == []


@pytest.mark.parametrize("name", ["x" * 50, "a", " padded ", "Jean-Luc Picard", "名前", "a.b,c:d"])
def test_valid_subject_names_are_kept_untrimmed(world: World, name: str) -> None:
    assert validate_subject_name(name) == name
    assert world.subjects.create(world.service, name) == name
    assert world.subjects.list(world.service) == [name]


def test_create_duplicate_ignoring_case_is_code_43(world: World) -> None:
    world.subjects.create(world.service, "Tom")
    with pytest.raises(FacekeeperError) as caught:
        world.subjects.create(world.service, "tOM")
    assert_error(caught, 43, 400, "Subject already exists")
    assert world.subjects.list(world.service) == ["Tom"]


def test_same_subject_in_two_services(world: World) -> None:
    other = world.api_keys.create("other", R)
    world.subjects.create(world.service, "Tom")
    assert world.subjects.create(other, "Tom") == "Tom"
    assert world.subjects.list(other) == ["Tom"]


def test_list_includes_subjects_without_examples_in_creation_order(world: World) -> None:
    for name in ("zed", "Amy", "bob"):
        world.subjects.create(world.service, name)
    world.enrol("Amy", [1, 0])
    assert world.subjects.list(world.service) == ["zed", "Amy", "bob"]


# --- rename / merge -------------------------------------------------------------------------------


def test_rename_to_the_same_name_is_false_even_when_unknown(world: World) -> None:
    revision = world.revision()
    assert world.subjects.rename(world.service, "Nobody", "Nobody") is False
    assert world.revision() == revision
    world.subjects.create(world.service, "Tom")
    revision = world.revision()
    assert world.subjects.rename(world.service, "Tom", "Tom") is False
    assert world.revision() == revision


def test_rename_validates_the_new_name_first(world: World) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.subjects.rename(world.service, "Tom", "a/b")
    assert caught.value.code == 36
    with pytest.raises(FacekeeperError) as caught:
        world.subjects.rename(world.service, "Tom", "")
    assert_error(caught, 26, 400, "Subject name cannot be empty")


def test_rename_unknown_is_code_42(world: World) -> None:
    revision = world.revision()
    with pytest.raises(FacekeeperError) as caught:
        world.subjects.rename(world.service, "Ghost", "Casper")
    assert_error(caught, 42, 404, "Subject Ghost not found")
    assert world.revision() == revision


def test_rename_moves_examples_to_the_new_name(world: World) -> None:
    image_id = world.enrol("Tom", [1, 0])
    assert world.subjects.rename(world.service, "tom", "Thomas") is True
    assert world.subjects.list(world.service) == ["Thomas"]
    assert world.examples_of("Thomas") == [image_id]
    assert world.search([1, 0]) == [(image_id, "Thomas")]


def test_case_only_rename_changes_stored_spelling(world: World) -> None:
    image_id = world.enrol("Tom", [1, 0])
    assert world.subjects.rename(world.service, "Tom", "TOM") is True
    assert world.subjects.list(world.service) == ["TOM"]
    assert world.search([1, 0]) == [(image_id, "TOM")]


def test_rename_into_existing_subject_merges(world: World) -> None:
    tom = [world.enrol("Tom", [1, 0]), world.enrol("Tom", [0.9, 0.1])]
    ann = world.enrol("Ann", [0, 1])
    world.subjects.create(world.service, "Bob")
    assert world.subjects.rename(world.service, "Tom", "ann") is True
    assert world.subjects.list(world.service) == ["Ann", "Bob"]  # target keeps its stored spelling
    assert sorted(world.examples_of("Ann")) == sorted([*tom, ann])
    with world.db.transaction() as session:
        assert SubjectRepository(session).find(world.service.id, "Tom") is None
    assert {subject for _, subject in world.search([1, 0])} == {"Ann"}


def test_merge_updates_an_already_loaded_index_in_place(world: World) -> None:
    tom = world.enrol("Tom", [1, 0])
    ann = world.enrol("Ann", [0, 1])
    assert sorted(world.search([1, 0])) == sorted([(tom, "Tom"), (ann, "Ann")])
    loaded = world.index.get(world.service.id)
    assert loaded is not None
    loaded_at = loaded.position
    world.subjects.rename(world.service, "Tom", "ANN")
    assert world.index.get(world.service.id) is loaded  # applied in place, not dropped
    assert loaded.position == loaded_at + 1
    assert world.search([1, 0]) == [(tom, "Ann"), (ann, "Ann")]


# --- delete ---------------------------------------------------------------------------------------


def test_delete_unknown_is_code_42(world: World) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.subjects.delete(world.service, "Ghost")
    assert_error(caught, 42, 404, "Subject Ghost not found")


def test_delete_ignores_case_and_returns_stored_name(world: World) -> None:
    world.enrol("Tom", [1, 0])
    ann = world.enrol("Ann", [0, 1])
    world.search([1, 0])
    assert world.subjects.delete(world.service, "TOM") == "Tom"
    assert world.subjects.list(world.service) == ["Ann"]
    assert world.search([1, 0]) == [(ann, "Ann")]
    assert world.examples_of("Tom") == []


def test_delete_all_returns_subject_count(world: World) -> None:
    world.enrol("Tom", [1, 0])
    world.enrol("Tom", [1, 1])
    world.enrol("Ann", [0, 1])
    world.subjects.create(world.service, "Empty")
    other = world.api_keys.create("other", R)
    world.subjects.create(other, "Kept")
    world.search([1, 0])
    assert world.subjects.delete_all(world.service) == 3
    assert world.subjects.list(world.service) == []
    assert world.search([1, 0]) == []
    assert world.subjects.list(other) == ["Kept"]
    assert world.subjects.delete_all(world.service) == 0


# --- revisions ------------------------------------------------------------------------------------


def test_collection_writes_bump_the_revision(world: World) -> None:
    first = world.enrol("Tom", [1, 0])
    world.enrol("Ann", [0, 1])
    world.enrol("Bob", [1, 1])
    steps: list[Callable[[], object]] = [
        lambda: world.subjects.rename(world.service, "Tom", "Thomas"),
        lambda: world.subjects.rename(world.service, "Thomas", "ann"),  # merge
        lambda: world.examples.delete(world.service, first),
        lambda: world.examples.delete_by_subject(world.service, "Bob"),
        lambda: world.subjects.delete(world.service, "Ann"),
        lambda: world.enrol("Zed", [1, 1]),
        lambda: world.subjects.delete_all(world.service),
    ]
    revision = world.revision()
    for step in steps:
        step()
        assert world.revision() == revision + 1
        revision += 1
    world.subjects.delete_all(world.service)  # nothing left to delete: nothing to log
    assert world.revision() == revision


def test_changes_to_subjects_alone_bump_the_revision(world: World) -> None:
    """Lists of subjects are cached by revision: a subject created or deleted without examples moves it too,
    with an empty removal that the index applies as nothing."""
    world.enrol("Tom", [1, 0])
    assert world.search([1, 0])  # loaded: the replays below go through the index
    steps: list[Callable[[], object]] = [
        lambda: world.subjects.create(world.service, "Ann"),
        lambda: world.subjects.ensure(world.service, ["Bob", "ann", "Cy"]),
        lambda: world.subjects.delete(world.service, "Ann"),
        lambda: world.examples.delete_by_subject(world.service, "Bob"),
    ]
    revision = world.revision()
    for step in steps:
        step()
        assert world.revision() == revision + 1
        revision += 1
    assert world.subjects.ensure(world.service, ["cy", "TOM"]) == 0  # nothing new: nothing to log
    assert world.revision() == revision
    assert world.search([1, 0])[0][1] == "Tom"
    assert world.index.get(world.service.id).position == revision  # type: ignore[union-attr]


def test_failed_write_does_not_bump_the_revision(world: World) -> None:
    world.subjects.create(world.service, "Tom")
    revision = world.revision()
    for name in ("tom", "TOM"):
        with pytest.raises(FacekeeperError):
            world.subjects.create(world.service, name)
    with pytest.raises(FacekeeperError):
        world.subjects.delete(world.service, "Ghost")
    assert world.revision() == revision


def test_revision_is_per_service(world: World) -> None:
    other = world.api_keys.create("other", R)
    world.enrol("Tom", [1, 0])
    world.subjects.delete_all(world.service)
    assert world.revision(other) == 0


def test_search_after_write_by_another_process_reloads(world: World) -> None:
    world.enrol("Tom", [1, 0])
    assert [s for _, s in world.search([1, 0])] == ["Tom"]
    # Another process (its own index) adds and renames through the same database.
    other_process = SubjectService(FaceCollections(world.db, InMemoryIndex()))
    image_id = world.enrol("Ann", [0, 1])
    other_process.rename(world.service, "Ann", "Anna")
    assert (image_id, "Anna") in world.search([0, 1])


# --- example deletes (no pipeline needed) ---------------------------------------------------------


def test_delete_example_by_id(world: World) -> None:
    a = world.enrol("Tom", [1, 0])
    b = world.enrol("Tom", [0, 1])
    world.search([1, 0])
    assert world.examples.delete(world.service, a) == Example(a, "Tom")
    assert world.search([1, 0]) == [(b, "Tom")]
    assert world.subjects.list(world.service) == ["Tom"]
    with pytest.raises(FacekeeperError) as caught:
        world.examples.delete(world.service, a)
    assert_error(caught, 44, 404, f"Image {a} not found")


def test_delete_example_of_another_service_is_not_found(world: World) -> None:
    other = world.api_keys.create("other", R)
    theirs = world.enrol("Tom", [1, 0], service=other)
    with pytest.raises(FacekeeperError) as caught:
        world.examples.delete(world.service, theirs)
    assert caught.value.code == 44
    with world.db.transaction() as session:
        assert ExampleRepository(session).get(other.id, theirs) == Example(theirs, "Tom")


def test_delete_by_subject(world: World) -> None:
    world.enrol("Tom", [1, 0])
    world.enrol("Tom", [1, 1])
    ann = world.enrol("Ann", [0, 1])
    assert world.examples.delete_by_subject(world.service, "tom") == 2
    assert world.subjects.list(world.service) == ["Ann"]
    assert world.examples.delete_by_subject(world.service, "nobody") == 0
    assert world.examples.delete_by_subject(world.service, None) == 1
    assert world.subjects.list(world.service) == ["Ann"]  # D1 keeps subjects
    assert world.examples_of("Ann") == []
    assert ann not in [i for i, _ in world.search([0, 1])]


# --- API keys -------------------------------------------------------------------------------------


def test_authenticate_missing_key_is_code_20(world: World) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(None, R)
    assert_error(caught, 20, 400, "Missing header: x-api-key")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "abc",
        "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "3fa85f645717456 2b3fc2c963f66afa6",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6x",
        "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
    ],
)
def test_authenticate_non_uuid_is_code_26(world: World, key: str) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(key, R)
    assert_error(caught, 26, 400, "Service API key should be UUID")


def test_authenticate_unknown_key_is_code_10(world: World) -> None:
    key = str(uuid.uuid4())
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(key, R)
    assert_error(caught, 10, 404, f"Recognition service with API Key {key} not found")


@pytest.mark.parametrize(
    ("owned", "required", "label"),
    [
        (ServiceType.DETECTION, ServiceType.RECOGNITION, "Recognition"),
        (ServiceType.RECOGNITION, ServiceType.VERIFICATION, "Verification"),
        (ServiceType.VERIFICATION, ServiceType.DETECTION, "Detection"),
    ],
)
def test_authenticate_key_of_another_type_is_code_10(
    world: World, owned: ServiceType, required: ServiceType, label: str
) -> None:
    key = world.api_keys.create(f"svc-{owned.value}", owned).api_key
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(key, required)
    assert_error(caught, 10, 404, f"{label} service with API Key {key} not found")


def test_authenticate_is_case_sensitive(world: World) -> None:
    key = world.service.api_key
    assert key == key.lower()
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(key.upper(), R)
    assert caught.value.code == 10


def test_authenticate_returns_the_service_with_current_revision(world: World) -> None:
    world.enrol("Tom", [1, 0])
    world.subjects.delete_all(world.service)
    service = world.api_keys.authenticate(world.service.api_key, R)
    assert (service.id, service.name, service.type, service.revision) == (world.service.id, "rec", R, 2)


def test_authenticate_key_with_trailing_newline_is_code_26(world: World) -> None:
    """Regression: '<uuid>\\n' passed the UUID check and got code 10 instead of 26."""
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(world.service.api_key + "\n", R)
    assert caught.value.code == 26


def test_create_service_key_is_random_lower_case_uuid(world: World) -> None:
    one = world.api_keys.create("one", ServiceType.DETECTION)
    two = world.api_keys.create("two", ServiceType.DETECTION)
    assert one.api_key != two.api_key
    assert str(uuid.UUID(one.api_key)) == one.api_key
    assert one.revision == 0
    assert world.api_keys.authenticate(one.api_key, ServiceType.DETECTION) == one


@pytest.mark.parametrize("name", ["rec", "REC", "Rec"])
def test_create_duplicate_service_name_is_rejected(world: World, name: str) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.create(name, ServiceType.DETECTION)
    assert caught.value.error is Error.SERVICE_NAME_TAKEN
    assert caught.value.message == f"Name {name} is not unique"
    assert len(world.api_keys.list()) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Service name cannot be empty"),
        ("  ", "Service name cannot be empty"),
        ("x" * 51, "Service name size must be between 1 and 50"),
        ("a/b", "Service name cannot contain ';', '/' or '\\'"),
    ],
)
def test_create_invalid_service_name(world: World, name: str, message: str) -> None:
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.create(name, R)
    assert_error(caught, 26, 400, message)


def test_regenerate_key(world: World) -> None:
    world.subjects.create(world.service, "Tom")
    old = world.service.api_key
    renewed = world.api_keys.regenerate_key("rec")
    assert renewed.api_key != old
    assert renewed.id == world.service.id
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.authenticate(old, R)
    assert caught.value.code == 10
    assert world.api_keys.authenticate(renewed.api_key, R).id == world.service.id
    assert world.subjects.list(renewed) == ["Tom"]  # the collection stays with the service


def test_regenerate_key_by_key_and_unknown(world: World) -> None:
    renewed = world.api_keys.regenerate_key(world.service.api_key)
    assert world.api_keys.by_api_key(renewed.api_key) is not None
    with pytest.raises(FacekeeperError) as caught:
        world.api_keys.regenerate_key("nope")
    assert caught.value.error is Error.SERVICE_UNKNOWN
    assert caught.value.message == "Service nope not found"


def test_delete_service_removes_its_collection(world: World) -> None:
    world.enrol("Tom", [1, 0])
    deleted = world.api_keys.delete("REC")
    assert deleted.id == world.service.id
    assert world.api_keys.list() == []
    assert world.api_keys.by_api_key(world.service.api_key) is None
    with world.db.transaction() as session:
        assert SubjectRepository(session).names(world.service.id) == []
        assert session.scalar(select(func.count()).select_from(ExampleTable)) == 0


def test_by_api_key_rejects_non_uuid_without_error(world: World) -> None:
    assert world.api_keys.by_api_key("not-a-key") is None
    assert world.api_keys.by_api_key(world.service.api_key) == world.service
