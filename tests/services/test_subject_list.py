"""Lists of subjects kept per revision, on each backend: each "process" is its own SubjectService over one
database, and a list one of them holds must never outlive a change another one makes."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import event

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.subject_list import SubjectListCache
from facekeeper.storage.bulk import BulkRepository
from facekeeper.storage.db import Database
from tests.services.processes import Process, service, two

__all__ = ["service", "two"]  # fixtures


def test_every_change_by_another_process_is_listed_at_once(
    two: tuple[Process, Process], service: ServiceRecord
) -> None:
    reader, writer = two
    steps: list[tuple[Callable[[], object], list[str]]] = [
        (lambda: writer.subjects.create(service, "zed"), ["zed"]),  # no examples: only the subject row
        (lambda: writer.subjects.create(service, "Amy"), ["zed", "Amy"]),
        (lambda: writer.enrol(service, "bob"), ["zed", "Amy", "bob"]),  # a new subject with its example
        (lambda: writer.subjects.rename(service, "Amy", "Amelia"), ["zed", "Amelia", "bob"]),
        (lambda: writer.subjects.rename(service, "zed", "BOB"), ["Amelia", "bob"]),  # a merge: the source goes
        (lambda: writer.subjects.ensure(service, ["Cy", "bob", "Di"]), ["Amelia", "bob", "Cy", "Di"]),  # an import
        (lambda: writer.subjects.delete(service, "Cy"), ["Amelia", "bob", "Di"]),  # deleted without examples
        (lambda: writer.examples.delete_by_subject(service, "di"), ["Amelia", "bob"]),
        (lambda: writer.subjects.delete_all(service), []),
    ]
    assert reader.listed(service) == []
    for step, expected in steps:
        step()
        assert reader.listed(service) == expected
        assert reader.listed(service) == expected  # and again, from what the reader kept


def test_deleting_a_subjects_examples_keeps_it_listed(two: tuple[Process, Process], service: ServiceRecord) -> None:
    reader, writer = two
    image_id = writer.enrol(service, "Tom")
    assert reader.listed(service) == ["Tom"]
    writer.examples.delete(service, image_id)
    assert reader.listed(service) == ["Tom"]


def test_an_unchanged_collection_is_answered_without_the_database(
    two: tuple[Process, Process], service: ServiceRecord, database: Database
) -> None:
    reader, writer = two
    writer.subjects.create(service, "Tom")
    view = reader.keys.authenticate(service.api_key, ServiceType.RECOGNITION)
    assert reader.subjects.cached_names_json(view) is None
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    assert reader.subjects.names_json(view) == b'["Tom"]'
    event.listen(database.engine, "before_cursor_execute", record)
    try:
        assert reader.subjects.cached_names_json(view) == b'["Tom"]'
        assert reader.subjects.names_json(view) == b'["Tom"]'
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert statements == []
    writer.subjects.create(service, "Ann")
    newer = reader.keys.authenticate(service.api_key, ServiceType.RECOGNITION)
    assert newer.revision > view.revision
    assert reader.subjects.cached_names_json(newer) is None  # behind the new view: read again
    assert reader.subjects.cached_names_json(view) == b'["Tom"]'  # an older view may still have it


def test_names_are_encoded_as_json_would_encode_them(
    two: tuple[Process, Process], service: ServiceRecord, database: Database
) -> None:
    """Built by the database (json_group_array, array_to_json): the same array as Python's encoder."""
    reader, _ = two
    names = ['say "hi"', "tab\there", "ünïcödé 名前", "emoji 🙂", "back\\slash", "new\nline", "ctrl\x01", "plain"]
    with reader.collections.write(service) as write:
        for name in names:  # one by one: the ids, hence the order, follow this list
            BulkRepository(write.session).add_subjects(service.id, [name])
    view = reader.keys.authenticate(service.api_key, ServiceType.RECOGNITION)
    encoded = reader.subjects.names_json(view)
    assert json.loads(encoded) == names == reader.subjects.list(view)
    assert encoded == json.dumps(names, ensure_ascii=False, separators=(",", ":")).encode()


def test_services_are_kept_apart_and_the_least_recently_listed_go_first(database: Database) -> None:
    keys = ApiKeyService(database)
    services = [keys.create(f"rec{k}", ServiceType.RECOGNITION) for k in range(3)]
    process = Process(database)
    for k, each in enumerate(services):
        process.subjects.create(each, f"only {k}")
    cache = SubjectListCache(database, max_bytes=2 * len(b'["only 0"]'))
    views = [keys.authenticate(s.api_key, ServiceType.RECOGNITION) for s in services]
    assert [cache.names_json(view) for view in views] == [b'["only 0"]', b'["only 1"]', b'["only 2"]']
    assert [cache.current(view) for view in views] == [None, b'["only 1"]', b'["only 2"]']
    process.collections.shutdown()
