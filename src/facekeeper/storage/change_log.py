"""The collection change log: appended in the same transaction as each change, read by every process to
follow changes made elsewhere.

Sequence numbers are per service and gap-free: `service.revision` is the newest one, and appending
bumps it under the service row's lock, so entries are numbered in commit order. On PostgreSQL the
append also sends NOTIFY inside the transaction (delivered on commit), which wakes the other processes.

Pruning: every `PRUNE_EVERY` appends to a service, entries older than its newest `keep_entries` go.
A process whose copy is older than the oldest kept entry reloads the collection in full.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from facekeeper.storage.tables import CollectionChangeTable, ExampleTable, ServiceTable

NOTIFY_CHANNEL = "facekeeper_collection_changes"
PRUNE_EVERY = 256


@dataclass(frozen=True)
class LogEntry:
    seq: int
    kind: str
    payload: str


def this_process() -> str:
    """Who sent a notification. A process applies its own writes in place after commit; replaying its own
    NOTIFY as well (it can arrive first) would count a needless replay. Host and pid: unique across replicas."""
    return f"{socket.gethostname()}:{os.getpid()}"


def notification_payload(service_id: str, seq: int) -> str:
    return f"{service_id} {seq} {this_process()}"


def parse_notification(payload: str) -> tuple[str, int, str] | None:
    """(service id, sequence, sender); the sender is empty in the payloads of older versions."""
    service_id, seq, sender = [*payload.split(" ", 2), "", ""][:3]
    return (service_id, int(seq), sender) if seq.isdigit() else None


class ChangeLogRepository:
    def __init__(self, session: Session, keep_entries: int = 10_000) -> None:
        self.session = session
        self.keep_entries = keep_entries
        self._postgresql = session.get_bind().dialect.name == "postgresql"

    def lock(self, service_id: str) -> int | None:
        """Serialise writers of one collection for the rest of the transaction (SQLite's BEGIN IMMEDIATE
        already does); the current revision, or None when the service is gone."""
        statement = select(ServiceTable.revision).where(ServiceTable.id == service_id)
        if self._postgresql:
            statement = statement.with_for_update()
        return self.session.scalar(statement)

    def append(self, service_id: str, kind: str, payload: str, examples_delta: int | None) -> int:
        """Record one change; `examples_delta` adjusts the service's example count, None recounts it."""
        return self.append_many(service_id, [(kind, payload, examples_delta)])[-1]

    def append_many(self, service_id: str, changes: Sequence[tuple[str, str, int | None]]) -> list[int]:
        """Record (kind, payload, examples_delta) changes in order, as `append` would one by one, in three
        statements whatever their number: a bulk import logs thousands of additions per second."""
        deltas = [delta for _, _, delta in changes]
        count = (
            ServiceTable.example_count + sum(d for d in deltas if d is not None)
            if None not in deltas
            else select(func.count())
            .select_from(ExampleTable)
            .where(ExampleTable.service_id == service_id)
            .scalar_subquery()
        )
        last = self.session.execute(
            update(ServiceTable)
            .where(ServiceTable.id == service_id)
            .values(revision=ServiceTable.revision + len(changes), example_count=count)
            .returning(ServiceTable.revision)
        ).scalar_one()
        first = last - len(changes) + 1
        self.session.execute(
            insert(CollectionChangeTable),
            [
                {"service_id": service_id, "seq": seq, "kind": kind, "payload": payload}
                for seq, (kind, payload, _) in enumerate(changes, start=first)
            ],
        )
        if self._postgresql:  # one wake-up for the batch: a woken process replays up to the head
            self.session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": notification_payload(service_id, last)},
            )
        if last // PRUNE_EVERY != (first - 1) // PRUNE_EVERY:
            self.prune(service_id, last - self.keep_entries)
        return list(range(first, last + 1))

    def prune(self, service_id: str, up_to_seq: int) -> None:
        self.session.execute(
            delete(CollectionChangeTable).where(
                CollectionChangeTable.service_id == service_id, CollectionChangeTable.seq <= up_to_seq
            )
        )

    def head(self, service_id: str) -> int | None:
        return self.session.scalar(select(ServiceTable.revision).where(ServiceTable.id == service_id))

    def entries(self, service_id: str, after: int, up_to: int) -> list[LogEntry]:
        """Entries after `after` up to `up_to`, in order; fewer than asked when pruned or written before
        the log existed (the caller then loads in full)."""
        rows = self.session.execute(
            select(CollectionChangeTable.seq, CollectionChangeTable.kind, CollectionChangeTable.payload)
            .where(
                CollectionChangeTable.service_id == service_id,
                CollectionChangeTable.seq > after,
                CollectionChangeTable.seq <= up_to,
            )
            .order_by(CollectionChangeTable.seq)
        )
        return [LogEntry(row.seq, row.kind, row.payload) for row in rows]
