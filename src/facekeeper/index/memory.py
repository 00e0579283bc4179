"""The in-memory `VectorIndex`: one `CollectionStore` per service, least recently used collections
dropped when their total memory passes a bound.

The registry's lock only guards the dictionary: loads, changes and searches of one collection never hold
a lock another collection needs.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

from facekeeper.index.base import IndexedCollection, LoadingCollection
from facekeeper.index.changes import Change
from facekeeper.index.collection import CollectionStore, NeedsFullLoad, spare_rows
from facekeeper.index.snapshot import SnapshotData

logger = logging.getLogger(__name__)


class InMemoryIndex:
    def __init__(self, memory_limit_bytes: int = 0) -> None:
        """`memory_limit_bytes` 0 means no bound."""
        self.memory_limit_bytes = memory_limit_bytes
        self._collections: OrderedDict[str, CollectionStore] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, service_id: str) -> CollectionStore | None:
        with self._lock:
            collection = self._collections.get(service_id)
            if collection is not None:
                self._collections.move_to_end(service_id)
            return collection

    def new_collection(self, position: int, dimension: int, capacity: int) -> CollectionStore:
        """Sized once, with room to grow: the first adds after a load copy nothing."""
        return CollectionStore(position, dimension, capacity + spare_rows(capacity))

    def restore(self, snapshot: SnapshotData) -> CollectionStore:
        header = snapshot.header
        return CollectionStore.from_arrays(
            header.position, header.count, snapshot.matrix, snapshot.ids, snapshot.codes, snapshot.names
        )

    def install(self, service_id: str, collection: LoadingCollection, approximate: bool = False) -> None:
        assert isinstance(collection, CollectionStore)
        with self._lock:
            self._collections[service_id] = collection
            self._collections.move_to_end(service_id)
            self._evict(keep=service_id)

    def _evict(self, keep: str) -> None:
        if not self.memory_limit_bytes:
            return
        total = sum(c.nbytes for c in self._collections.values())
        for service_id in list(self._collections):
            if total <= self.memory_limit_bytes:
                break
            if service_id == keep:
                continue
            evicted = self._collections.pop(service_id)
            total -= evicted.nbytes
            logger.info("collection of service %s dropped from memory (least recently used)", service_id)

    def apply(self, service_id: str, changes: Sequence[tuple[int, Change]]) -> bool:
        collection = self.get(service_id)
        if collection is None:
            return False
        try:
            collection.apply(changes)
        except NeedsFullLoad as reason:
            logger.info("collection of service %s needs a full load: %s", service_id, reason)
            self.forget(service_id, only=collection)
            return False
        return True

    def forget(self, service_id: str, only: IndexedCollection | None = None) -> None:
        """Drop the service's collection (only if it is still `only`, when given)."""
        with self._lock:
            if only is None or self._collections.get(service_id) is only:
                self._collections.pop(service_id, None)

    def held(self) -> dict[str, IndexedCollection]:
        with self._lock:
            return dict(self._collections)
