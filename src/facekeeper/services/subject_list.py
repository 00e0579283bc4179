"""Every subject name of a service as one encoded JSON array, kept per service for the revision it was
read at.

`GET /subjects` answers all names (CompreFace has no paging there): at 200,000 subjects the database
builds the array in ~0.1 s on SQLite (~0.2 s on PostgreSQL), too long for every request. Every change to a
service's subjects moves its revision in the same transaction (the change log; a subject created or
deleted without examples logs `SUBJECTS_ONLY`), and every request carries the revision its key check read.
So a list read at that revision or later is current for the request, whichever process made the change:
the same rule as the in-memory collections (`services/collection.py`), with no notification needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from facekeeper.domain import ServiceRecord
from facekeeper.storage.db import Database, storage_errors
from facekeeper.storage.repositories import ServiceRepository, SubjectRepository

MAX_CACHED_BYTES = 64 * 2**20  # ~20 lists of 200,000 names; least recently listed services go first


@dataclass(frozen=True)
class EncodedNames:
    revision: int
    json_array: bytes  # UTF-8, compact


class SubjectListCache:
    def __init__(self, db: Database, max_bytes: int = MAX_CACHED_BYTES) -> None:
        self.db = db
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, EncodedNames] = OrderedDict()
        self._bytes = 0
        self._guard = threading.Lock()
        self._readers: dict[str, threading.Lock] = {}

    def current(self, service: ServiceRecord) -> bytes | None:
        """The cached array when it is at or past the request's view; None: read it (`names_json`)."""
        with self._guard:
            entry = self._entries.get(service.id)
            if entry is None or entry.revision < service.revision:
                return None
            self._entries.move_to_end(service.id)
            return entry.json_array

    def names_json(self, service: ServiceRecord) -> bytes:
        """The names in creation order as a JSON array, current for the request's view."""
        cached = self.current(service)
        if cached is not None:
            return cached
        # One reader per service: requests that miss together wait for its answer instead of each reading.
        with self._reader_of(service.id):
            cached = self.current(service)
            if cached is not None:
                return cached
            with storage_errors(), self.db.snapshot() as session:  # the revision and names of one state
                revision = ServiceRepository(session).revision(service.id)
                names = SubjectRepository(session).names_json(service.id)
            encoded = EncodedNames(revision, names.encode())
            self._keep(service.id, encoded)
            return encoded.json_array

    def _reader_of(self, service_id: str) -> threading.Lock:
        with self._guard:
            return self._readers.setdefault(service_id, threading.Lock())

    def _keep(self, service_id: str, entry: EncodedNames) -> None:
        with self._guard:
            previous = self._entries.pop(service_id, None)
            if previous is not None:
                self._bytes -= len(previous.json_array)
            if len(entry.json_array) > self.max_bytes:
                return
            self._entries[service_id] = entry
            self._bytes += len(entry.json_array)
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.json_array)
