"""The PostgreSQL change listener: hears committed changes, and after losing its connection reconnects
and says so (notifications sent meanwhile are lost, so its owner catches up from the log)."""

from __future__ import annotations

import threading
import uuid

import psycopg

from facekeeper.domain import ServiceType
from facekeeper.storage.change_log import NOTIFY_CHANNEL, ChangeLogRepository, this_process
from facekeeper.storage.db import Database
from facekeeper.storage.notifications import ChangeListener, libpq_url
from facekeeper.storage.repositories import ServiceRepository


class Heard:
    def __init__(self) -> None:
        self.changes: list[tuple[str, int]] = []
        self.reconnects = 0
        self.event = threading.Event()

    def notified(self, service_id: str, seq: int) -> None:
        self.changes.append((service_id, seq))
        self.event.set()

    def reconnected(self) -> None:
        self.reconnects += 1
        self.event.set()


def wait(heard: Heard) -> None:
    assert heard.event.wait(10)
    heard.event.clear()


def test_listener_hears_changes_and_recovers_from_a_lost_connection(postgres_url: str) -> None:
    db = Database(postgres_url)
    db.upgrade()
    with db.transaction() as session:
        service = ServiceRepository(session).add("rec", ServiceType.RECOGNITION, str(uuid.uuid4()))
    heard = Heard()
    listener = ChangeListener(postgres_url, heard.notified, heard.reconnected)
    listener.start()
    try:
        wait(heard)  # connected: an owner always catches up then
        assert heard.reconnects == 1
        with db.transaction(write=True) as session:
            seq = ChangeLogRepository(session).append(service.id, "added", "{}", examples_delta=1)
        wait(heard)
        assert heard.changes == [(service.id, seq)]
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as admin:  # the server drops it
            admin.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,))
        wait(heard)
        assert heard.reconnects == 2
        with db.transaction(write=True) as session:
            seq = ChangeLogRepository(session).append(service.id, "added", "{}", examples_delta=1)
        wait(heard)
        assert heard.changes[-1] == (service.id, seq)
    finally:
        listener.stop()
        db.dispose()
    assert not listener.listening.is_set()


def test_listener_stops_promptly(postgres_url: str) -> None:
    listener = ChangeListener(postgres_url, lambda _s, _q: None, lambda: None)
    listener.start()
    assert listener.listening.wait(10)
    listener.stop()
    assert not listener._thread.is_alive()


def test_a_process_does_not_replay_its_own_writes(postgres_url: str) -> None:
    """A server applies its own writes in place after commit; its NOTIFY can arrive first, and replaying it
    would count a needless replay (seen as a flaky `incremental` load in the metrics test)."""
    db = Database(postgres_url)
    db.upgrade()
    with db.transaction() as session:
        service = ServiceRepository(session).add("own", ServiceType.RECOGNITION, str(uuid.uuid4()))
    heard = Heard()
    listener = ChangeListener(postgres_url, heard.notified, heard.reconnected, skip_sender=this_process())
    listener.start()
    try:
        wait(heard)  # connected
        with db.transaction(write=True) as session:
            ChangeLogRepository(session).append(service.id, "added", "{}", examples_delta=1)
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as other:  # another replica's write
            other.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, f"{service.id} 9 elsewhere:1"))
        wait(heard)
        assert heard.changes == [(service.id, 9)]
    finally:
        listener.stop()
        db.dispose()
