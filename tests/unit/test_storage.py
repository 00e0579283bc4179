"""SQLite storage: migrations, pragmas, repositories, cascades (D7) and transaction atomicity."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from facekeeper.domain import Example, ServiceRecord, ServiceType
from facekeeper.index.changes import Added, encode
from facekeeper.storage import tables
from facekeeper.storage.change_log import ChangeLogRepository
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository
from facekeeper.storage.tables import ExampleImageTable, ExampleTable, ServiceTable, SubjectTable


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.upgrade()
    yield database
    database.dispose()


def make_service(db: Database, name: str = "rec", service_type: ServiceType = ServiceType.RECOGNITION) -> ServiceRecord:
    with db.transaction() as session:
        return ServiceRepository(session).add(name, service_type, str(uuid.uuid4()))


def vector(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def add_example(
    db: Database, service: ServiceRecord, subject: str, embedding: np.ndarray, image: bytes | None = b"img"
) -> str:
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        stored = subjects.find(service.id, subject) or subjects.add(service.id, subject)
        image_id = ExampleRepository(session).add(service.id, stored.id, embedding, "calc@1", image)
        # As the use cases do: the change log keeps `service.example_count`, which paging reports.
        ChangeLogRepository(session).append(service.id, *encode(Added(image_id, stored.name)), examples_delta=1)
        return image_id


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from facekeeper.storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return str(ScriptDirectory.from_config(config).get_current_head())


def count(db: Database, table: type[tables.Base]) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


# --- schema and connection ------------------------------------------------------------------------


def test_upgrade_creates_the_schema(db: Database) -> None:
    names = set(inspect(db.engine).get_table_names())
    assert {"service", "subject", "example", "example_image", "alembic_version"} <= names
    columns = {c["name"] for c in inspect(db.engine).get_columns("example")}
    assert columns == {
        "id",
        "service_id",
        "subject_id",
        "embedding",
        "dimension",
        "calculator",
        "content_sha256",
        "created_at",
    }


def test_upgrade_is_idempotent_and_keeps_data(db: Database) -> None:
    service = make_service(db)
    db.upgrade()
    db.upgrade()
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    with db.transaction() as session:
        assert ServiceRepository(session).by_api_key(service.api_key) == service


def test_migrated_schema_matches_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), tables.Base.metadata)
    assert differences == []


def test_sqlite_connection_pragmas(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_service_type_check_constraint(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(
            ServiceTable(
                id="x", name="n", name_folded="n", type="Q", api_key="k", revision=0, created_at=datetime.now(UTC)
            )
        )


# --- services -------------------------------------------------------------------------------------


def test_service_add_and_lookups(db: Database) -> None:
    key = str(uuid.uuid4())
    with db.transaction() as session:
        added = ServiceRepository(session).add("My Service", ServiceType.DETECTION, key)
    assert added == ServiceRecord(added.id, "My Service", ServiceType.DETECTION, key, 0)
    with db.transaction() as session:
        services = ServiceRepository(session)
        assert services.by_api_key(key) == added
        assert services.by_api_key(key.upper()) is None  # exact, case-sensitive (§2.5)
        assert services.by_api_key(str(uuid.uuid4())) is None
        assert services.by_name("my service") == added
        assert services.by_name("MY SERVICE") == added
        assert services.by_name("other") is None
        assert services.all() == [added]


def test_service_names_unique_ignoring_case(db: Database) -> None:
    make_service(db, "Front Door")
    with pytest.raises(IntegrityError):
        make_service(db, "front door")


def test_service_api_keys_unique(db: Database) -> None:
    key = str(uuid.uuid4())
    with db.transaction() as session:
        ServiceRepository(session).add("one", ServiceType.RECOGNITION, key)
    with pytest.raises(IntegrityError), db.transaction() as session:
        ServiceRepository(session).add("two", ServiceType.RECOGNITION, key)


def test_set_api_key(db: Database) -> None:
    service = make_service(db)
    new_key = str(uuid.uuid4())
    with db.transaction() as session:
        ServiceRepository(session).set_api_key(service.id, new_key)
    with db.transaction() as session:
        services = ServiceRepository(session)
        assert services.by_api_key(service.api_key) is None
        record = services.by_api_key(new_key)
        assert record is not None and record.id == service.id


def test_bump_revision_increments_and_persists(db: Database) -> None:
    service = make_service(db)
    other = make_service(db, "other")
    with db.transaction() as session:
        services = ServiceRepository(session)
        assert services.bump_revision(service.id) == 1
        assert services.bump_revision(service.id) == 2
    with db.transaction() as session:
        services = ServiceRepository(session)
        assert services.bump_revision(service.id) == 3
        assert services.revision(service.id) == 3
        assert services.revision(other.id) == 0
        assert services.by_api_key(service.api_key).revision == 3  # type: ignore[union-attr]


def test_bump_revision_rolled_back_with_its_transaction(db: Database) -> None:
    service = make_service(db)
    with pytest.raises(RuntimeError), db.transaction() as session:
        ServiceRepository(session).bump_revision(service.id)
        raise RuntimeError("boom")
    with db.transaction() as session:
        assert ServiceRepository(session).revision(service.id) == 0


# --- subjects -------------------------------------------------------------------------------------


def test_subject_find_is_case_insensitive_and_returns_stored_spelling(db: Database) -> None:
    service = make_service(db)
    with db.transaction() as session:
        added = SubjectRepository(session).add(service.id, "Tom Hanks")
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        for spelling in ("Tom Hanks", "tom hanks", "TOM HANKS"):
            assert subjects.find(service.id, spelling) == added
        assert subjects.find(service.id, "Tom") is None


def test_subject_find_is_scoped_to_its_service(db: Database) -> None:
    one, two = make_service(db, "one"), make_service(db, "two")
    with db.transaction() as session:
        SubjectRepository(session).add(one.id, "Tom")
    with db.transaction() as session:
        assert SubjectRepository(session).find(two.id, "Tom") is None


def test_subject_unique_per_service_ignoring_case(db: Database) -> None:
    service = make_service(db)
    with pytest.raises(IntegrityError), db.transaction() as session:
        subjects = SubjectRepository(session)
        subjects.add(service.id, "Tom")
        subjects.add(service.id, "tom")
    with db.transaction() as session:
        assert SubjectRepository(session).names(service.id) == []


def test_same_subject_name_allowed_in_two_services(db: Database) -> None:
    one, two = make_service(db, "one"), make_service(db, "two")
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        subjects.add(one.id, "Tom")
        subjects.add(two.id, "TOM")
    with db.transaction() as session:
        assert SubjectRepository(session).names(two.id) == ["TOM"]


def test_subject_rename_updates_lookup(db: Database) -> None:
    service = make_service(db)
    with db.transaction() as session:
        subject = SubjectRepository(session).add(service.id, "Tom")
    with db.transaction() as session:
        SubjectRepository(session).rename(subject.id, "Thomas")
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        assert subjects.find(service.id, "tom") is None
        assert subjects.find(service.id, "THOMAS") == type(subject)(subject.id, "Thomas")
        assert subjects.names(service.id) == ["Thomas"]


def test_subject_names_in_creation_order(db: Database) -> None:
    service = make_service(db)
    for name in ("zed", "Amy", "mike"):
        with db.transaction() as session:
            SubjectRepository(session).add(service.id, name)
    with db.transaction() as session:
        assert SubjectRepository(session).names(service.id) == ["zed", "Amy", "mike"]


def test_subject_delete_all_counts_only_its_service(db: Database) -> None:
    one, two = make_service(db, "one"), make_service(db, "two")
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        for name in ("a", "b", "c"):
            subjects.add(one.id, name)
        subjects.add(two.id, "a")
    with db.transaction() as session:
        assert SubjectRepository(session).delete_all(one.id) == 3
    with db.transaction() as session:
        assert SubjectRepository(session).names(two.id) == ["a"]


# --- examples -------------------------------------------------------------------------------------


def test_example_add_stores_embedding_and_image(db: Database) -> None:
    service = make_service(db)
    image_id = add_example(db, service, "Tom", vector(0.6, 0.8), b"\x89PNG")
    uuid.UUID(image_id)
    with db.transaction() as session:
        examples = ExampleRepository(session)
        assert examples.get(service.id, image_id) == Example(image_id, "Tom")
        found = examples.embedding(service.id, image_id)
        assert found is not None
        assert found[0] == Example(image_id, "Tom")
        np.testing.assert_array_equal(found[1], vector(0.6, 0.8))
        assert examples.image(service.id, image_id) == b"\x89PNG"
        row = session.get(ExampleTable, image_id)
        assert row is not None and (row.dimension, row.calculator) == (2, "calc@1")


def test_example_without_image_has_no_image_row(db: Database) -> None:
    service = make_service(db)
    image_id = add_example(db, service, "Tom", vector(1, 0), None)
    assert count(db, ExampleImageTable) == 0
    with db.transaction() as session:
        assert ExampleRepository(session).image(service.id, image_id) is None


def test_example_lookups_are_scoped_to_service(db: Database) -> None:
    one, two = make_service(db, "one"), make_service(db, "two")
    image_id = add_example(db, one, "Tom", vector(1, 0))
    with db.transaction() as session:
        examples = ExampleRepository(session)
        assert examples.get(two.id, image_id) is None
        assert examples.embedding(two.id, image_id) is None
        assert examples.image(two.id, image_id) is None
        assert examples.existing(two.id, [image_id]) == []
        examples.delete(two.id, [image_id])
    with db.transaction() as session:
        assert ExampleRepository(session).get(one.id, image_id) == Example(image_id, "Tom")


def test_deleting_an_example_deletes_its_image(db: Database) -> None:
    service = make_service(db)
    image_id = add_example(db, service, "Tom", vector(1, 0), b"img-1")
    kept = add_example(db, service, "Tom", vector(0, 1), b"img-2")
    assert count(db, ExampleImageTable) == 2
    with db.transaction() as session:
        ExampleRepository(session).delete(service.id, [image_id])
    assert count(db, ExampleImageTable) == 1
    with db.transaction() as session:
        assert session.get(ExampleImageTable, image_id) is None
        assert ExampleRepository(session).image(service.id, kept) == b"img-2"


def test_deleting_a_subject_cascades_to_examples_and_images(db: Database) -> None:
    service = make_service(db)
    add_example(db, service, "Tom", vector(1, 0))
    add_example(db, service, "Tom", vector(0, 1))
    kept = add_example(db, service, "Ann", vector(1, 1))
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        tom = subjects.find(service.id, "tom")
        assert tom is not None
        subjects.delete(tom.id)
    assert count(db, ExampleTable) == 1
    assert count(db, ExampleImageTable) == 1
    with db.transaction() as session:
        assert [e.image_id for e in ExampleRepository(session).page(service.id, None, 0, 10)[0]] == [kept]


def test_deleting_a_service_cascades_everything(db: Database) -> None:
    service = make_service(db)
    other = make_service(db, "other")
    add_example(db, service, "Tom", vector(1, 0))
    add_example(db, service, "Ann", vector(0, 1))
    kept = add_example(db, other, "Tom", vector(1, 1))
    with db.transaction() as session:
        ServiceRepository(session).delete(service.id)
    assert count(db, ServiceTable) == 1
    assert count(db, SubjectTable) == 1
    assert count(db, ExampleTable) == 1
    assert count(db, ExampleImageTable) == 1
    with db.transaction() as session:
        assert [e.image_id for e in ExampleRepository(session).page(other.id, None, 0, 10)[0]] == [kept]


def test_example_needs_an_existing_subject(db: Database) -> None:
    service = make_service(db)
    with pytest.raises(IntegrityError), db.transaction() as session:
        ExampleRepository(session).add(service.id, "no-such-subject", vector(1, 0), "calc", None)


def test_move_examples_between_subjects(db: Database) -> None:
    service = make_service(db)
    a = add_example(db, service, "Tom", vector(1, 0))
    b = add_example(db, service, "Ann", vector(0, 1))
    with db.transaction() as session:
        subjects = SubjectRepository(session)
        tom, ann = subjects.find(service.id, "Tom"), subjects.find(service.id, "Ann")
        assert tom is not None and ann is not None
        ExampleRepository(session).move(tom.id, ann.id)
        assert ExampleRepository(session).count_of_subject(ann.id) == 2
        assert ExampleRepository(session).count_of_subject(tom.id) == 0
        assert {e.image_id for e in ExampleRepository(session).page(service.id, "Ann", 0, 10)[0]} == {a, b}


def test_existing_returns_only_known_ids(db: Database) -> None:
    service = make_service(db)
    a = add_example(db, service, "Tom", vector(1, 0))
    with db.transaction() as session:
        examples = ExampleRepository(session)
        assert examples.existing(service.id, []) == []
        assert examples.existing(service.id, [a, str(uuid.uuid4())]) == [Example(a, "Tom")]


def test_has_other_calculator(db: Database) -> None:
    service = make_service(db)
    add_example(db, service, "Tom", vector(1, 0))
    with db.transaction() as session:
        examples = ExampleRepository(session)
        assert examples.has_other_calculator("calc@1") is False
        assert examples.has_other_calculator("calc@2") is True


# --- paging ---------------------------------------------------------------------------------------


@pytest.fixture
def paged(db: Database) -> tuple[Database, ServiceRecord, list[str]]:
    service = make_service(db)
    other = make_service(db, "other")
    ids = [add_example(db, service, name, vector(i, 1)) for i, name in enumerate(["Tom", "Ann", "tom", "Bob", "Tom"])]
    add_example(db, other, "Tom", vector(1, 1))
    return db, service, ids


@pytest.mark.parametrize(
    ("page", "size", "positions"),
    [(0, 2, [0, 1]), (1, 2, [2, 3]), (2, 2, [4]), (3, 2, []), (0, 20, [0, 1, 2, 3, 4]), (0, 1, [0]), (4, 1, [4])],
)
def test_page_without_subject(
    paged: tuple[Database, ServiceRecord, list[str]], page: int, size: int, positions: list[int]
) -> None:
    db, service, ids = paged
    with db.transaction() as session:
        examples, total = ExampleRepository(session).page(service.id, None, page, size)
    assert total == 5
    assert [e.image_id for e in examples] == [ids[i] for i in positions]
    assert all(e.subject in {"Tom", "Ann", "Bob"} for e in examples)


@pytest.mark.parametrize("subject", ["Tom", "tom", "TOM"])
def test_page_subject_filter_is_case_insensitive(
    paged: tuple[Database, ServiceRecord, list[str]], subject: str
) -> None:
    db, service, ids = paged
    with db.transaction() as session:
        examples, total = ExampleRepository(session).page(service.id, subject, 0, 20)
    assert total == 3
    assert examples == [Example(ids[0], "Tom"), Example(ids[2], "Tom"), Example(ids[4], "Tom")]


def test_page_unknown_subject(paged: tuple[Database, ServiceRecord, list[str]]) -> None:
    db, service, _ = paged
    with db.transaction() as session:
        assert ExampleRepository(session).page(service.id, "nobody", 0, 20) == ([], 0)
        assert ExampleRepository(session).page(service.id, "", 0, 20) == ([], 0)


# --- images by key --------------------------------------------------------------------------------


def test_image_by_api_key_only_for_the_right_key(db: Database) -> None:
    service = make_service(db)
    other = make_service(db, "other")
    image_id = add_example(db, service, "Tom", vector(1, 0), b"secret")
    with db.transaction() as session:
        examples = ExampleRepository(session)
        assert examples.image_by_api_key(service.api_key, image_id) == b"secret"
        assert examples.image_by_api_key(other.api_key, image_id) is None
        assert examples.image_by_api_key(str(uuid.uuid4()), image_id) is None
        assert examples.image_by_api_key(service.api_key, str(uuid.uuid4())) is None


# --- atomicity ------------------------------------------------------------------------------------


def test_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    service = make_service(db)
    with pytest.raises(RuntimeError, match="after the writes"), db.transaction() as session:
        subject = SubjectRepository(session).add(service.id, "Tom")
        ExampleRepository(session).add(service.id, subject.id, vector(1, 0), "calc", b"image")
        ServiceRepository(session).bump_revision(service.id)
        raise RuntimeError("after the writes")
    assert count(db, SubjectTable) == 0
    assert count(db, ExampleTable) == 0
    assert count(db, ExampleImageTable) == 0
    with db.transaction() as session:
        assert ServiceRepository(session).revision(service.id) == 0


def test_failed_insert_rolls_back_earlier_writes_of_the_transaction(db: Database) -> None:
    service = make_service(db)
    with pytest.raises(IntegrityError), db.transaction() as session:
        subject = SubjectRepository(session).add(service.id, "Tom")
        ExampleRepository(session).add(service.id, subject.id, vector(1, 0), "calc", b"image")
        SubjectRepository(session).add(service.id, "TOM")  # unique violation
    assert count(db, SubjectTable) == 0
    assert count(db, ExampleTable) == 0
    assert count(db, ExampleImageTable) == 0


def test_committed_transaction_is_visible_to_a_new_database_object(db: Database, tmp_path: Path) -> None:
    service = make_service(db)
    add_example(db, service, "Tom", vector(1, 0))
    second = Database(f"sqlite:///{tmp_path}/t.db")
    try:
        with second.transaction() as session:
            assert ExampleRepository(session).page(service.id, None, 0, 10)[1] == 1
    finally:
        second.dispose()


# --- column sizes of folded names ----------------------------------------------------------------


def folded_fits(column_type: object, longest_valid_name: str) -> bool:
    column_length = getattr(column_type, "length", None)
    return column_length is None or len(longest_valid_name.casefold()) <= column_length


def test_folded_ascii_names_fit_their_columns() -> None:
    assert folded_fits(ServiceTable.__table__.c.name_folded.type, "X" * 50)
    assert folded_fits(SubjectTable.__table__.c.name_folded.type, "X" * 255)


def test_folded_service_name_fits_its_column() -> None:
    """Regression: casefold() lengthens names ('ß' -> 'ss'); VARCHAR(50) rejected them on PostgreSQL."""
    assert folded_fits(ServiceTable.__table__.c.name_folded.type, "ß" * 50)


def test_folded_subject_name_fits_its_column() -> None:
    """Regression: a 255-character add-face subject folded past VARCHAR(255)."""
    assert folded_fits(SubjectTable.__table__.c.name_folded.type, "ß" * 255)
