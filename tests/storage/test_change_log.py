"""The change log on each backend: gap-free numbering with the revision, example counts kept in step,
pruning, the writer lock, and NOTIFY on PostgreSQL sent only on commit."""

from __future__ import annotations

import uuid

import numpy as np
import psycopg
import pytest
from sqlalchemy import make_url

from facekeeper.domain import ServiceRecord, ServiceType
from facekeeper.storage.change_log import (
    NOTIFY_CHANNEL,
    ChangeLogRepository,
    notification_payload,
    parse_notification,
    this_process,
)
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository, SubjectRepository


def make_service(db: Database, name: str = "rec") -> ServiceRecord:
    with db.transaction() as session:
        return ServiceRepository(session).add(name, ServiceType.RECOGNITION, str(uuid.uuid4()))


def append(db: Database, service: ServiceRecord, kind: str = "added", delta: int | None = 1, keep: int = 10_000) -> int:
    with db.transaction(write=True) as session:
        log = ChangeLogRepository(session, keep)
        log.lock(service.id)
        return log.append(service.id, kind, "{}", examples_delta=delta)


def example_count(db: Database, service: ServiceRecord) -> int:
    with db.transaction() as session:
        return ServiceRepository(session).example_count(service.id)


def test_sequence_follows_the_revision_per_service(database: Database) -> None:
    one, two = make_service(database, "one"), make_service(database, "two")
    assert [append(database, one) for _ in range(3)] == [1, 2, 3]
    assert append(database, two) == 1
    with database.transaction() as session:
        log = ChangeLogRepository(session)
        assert log.head(one.id) == 3
        assert [e.seq for e in log.entries(one.id, 0, 3)] == [1, 2, 3]
        assert [e.seq for e in log.entries(one.id, 1, 2)] == [2]
        assert ServiceRepository(session).revision(one.id) == 3


def test_rolled_back_append_leaves_no_entry_and_no_gap(database: Database) -> None:
    service = make_service(database)
    with pytest.raises(RuntimeError), database.transaction(write=True) as session:
        ChangeLogRepository(session).append(service.id, "added", "{}", examples_delta=1)
        raise RuntimeError("the write failed after logging")
    assert append(database, service) == 1
    assert example_count(database, service) == 1


def test_example_count_moves_with_each_change_and_a_reset_recounts(database: Database) -> None:
    service = make_service(database)
    append(database, service, delta=1)
    append(database, service, delta=1)
    append(database, service, delta=-1)
    assert example_count(database, service) == 1
    with database.transaction() as session:
        subject = SubjectRepository(session).add(service.id, "Tom")
        for _ in range(3):
            ExampleRepository(session).add(service.id, subject.id, np.ones(4, dtype=np.float32), "c", None)
    append(database, service, kind="reset", delta=None)
    assert example_count(database, service) == 3


def test_prune_keeps_the_newest_entries(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("facekeeper.storage.change_log.PRUNE_EVERY", 4)
    service = make_service(database)
    for _ in range(8):
        append(database, service, keep=3)
    with database.transaction() as session:
        kept = [e.seq for e in ChangeLogRepository(session).entries(service.id, 0, 8)]
    assert kept == [6, 7, 8]


def test_a_batch_is_numbered_and_counted_like_single_appends(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("facekeeper.storage.change_log.PRUNE_EVERY", 4)
    service = make_service(database)
    append(database, service)
    with database.transaction(write=True) as session:
        log = ChangeLogRepository(session, keep_entries=2)
        log.lock(service.id)
        batch = [("added", f'{{"n":{n}}}', 1) for n in range(5)] + [("removed", "{}", -2)]
        assert log.append_many(service.id, batch) == [2, 3, 4, 5, 6, 7]
    assert example_count(database, service) == 1 + 5 - 2
    with database.transaction() as session:
        kept = ChangeLogRepository(session).entries(service.id, 0, 7)
    # seq 4 and 8 are prune points: the batch crossed 4, so entries up to 7 - 2 went.
    assert [(e.seq, e.kind, e.payload) for e in kept] == [(6, "added", '{"n":4}'), (7, "removed", "{}")]


def test_lock_returns_the_revision_or_none(database: Database) -> None:
    service = make_service(database)
    append(database, service)
    with database.transaction(write=True) as session:
        log = ChangeLogRepository(session)
        assert log.lock(service.id) == 1
        assert log.lock(str(uuid.uuid4())) is None


def test_postgresql_notifies_other_processes_on_commit_only(postgres_url: str) -> None:
    """SQLite has no NOTIFY: there, processes check the log position per request."""
    database = Database(postgres_url)
    database.upgrade()
    url = make_url(database.url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        service = make_service(database)
        with pytest.raises(RuntimeError), database.transaction(write=True) as session:
            ChangeLogRepository(session).append(service.id, "added", "{}", examples_delta=1)
            raise RuntimeError("rolled back: nobody hears of it")
        seq = append(database, service)
        heard = [parse_notification(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    database.dispose()
    assert heard == [(service.id, seq, this_process())]


def test_notifications_name_their_sender_and_old_payloads_still_parse() -> None:
    assert parse_notification(notification_payload("svc", 7)) == ("svc", 7, this_process())
    assert parse_notification("svc 7") == ("svc", 7, "")  # sent by an older version: replayed
    assert parse_notification("svc x") is None
