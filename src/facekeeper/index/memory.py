"""The in-memory `VectorIndex`: one `CollectionStore` per service, least recently used collections
dropped when their total memory passes a bound.

The registry's lock only guards the dictionary: loads, changes and searches of one collection never hold
a lock another collection needs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from facekeeper.index import approximate
from facekeeper.index.approximate import IvfPqAccelerator
from facekeeper.index.base import IndexedCollection, LoadingCollection
from facekeeper.index.changes import Change
from facekeeper.index.collection import Accelerator, CollectionStore, NeedsFullLoad, spare_rows
from facekeeper.index.snapshot import SnapshotData

logger = logging.getLogger(__name__)


class InMemoryIndex:
    def __init__(
        self,
        memory_limit_bytes: int = 0,
        approximate_min_examples: int = 200_000,
        make_accelerator: Callable[[np.ndarray, np.ndarray], Accelerator] = IvfPqAccelerator.build,
    ) -> None:
        """`memory_limit_bytes` 0 means no bound. Collections installed with `approximate=True` get an
        approximate search structure, built in the background, once they hold `approximate_min_examples`
        (and a new one when they have doubled since)."""
        self.memory_limit_bytes = memory_limit_bytes
        self.approximate_min_examples = approximate_min_examples
        self.make_accelerator = make_accelerator
        self._collections: OrderedDict[str, CollectionStore] = OrderedDict()
        self._lock = threading.Lock()
        self._approximate: set[str] = set()
        self._building: set[str] = set()
        self._builder: ThreadPoolExecutor | None = None

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
            if approximate:
                self._approximate.add(service_id)
            else:
                self._approximate.discard(service_id)
        self._consider_accelerator(service_id, collection)

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
        self._consider_accelerator(service_id, collection)
        return True

    # --- approximate search -------------------------------------------------------------------------

    def _consider_accelerator(self, service_id: str, collection: CollectionStore) -> None:
        """Build one (in the background) for a big enough collection of a service that allows it."""
        size = collection.size
        if service_id not in self._approximate or size < self.approximate_min_examples:
            return
        if collection.accelerator is not None and size < 2 * collection.accelerated_size:
            return
        if not approximate.supported(collection.dimension or 0):
            return
        with self._lock:
            if service_id in self._building:
                return
            self._building.add(service_id)
            if self._builder is None:
                self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collection-approximate")
            self._builder.submit(self._build, service_id, collection)

    def _build(self, service_id: str, collection: CollectionStore) -> None:
        started = time.perf_counter()
        try:
            if self.get(service_id) is not collection:
                return
            if collection.build_accelerator(self.make_accelerator):
                logger.info(
                    "approximate index of %d examples of service %s built in %.1f s",
                    collection.accelerated_size,
                    service_id,
                    time.perf_counter() - started,
                )
        except Exception:  # searches stay exact; the next change tries again
            logger.exception("approximate index of service %s not built", service_id)
        finally:
            with self._lock:
                self._building.discard(service_id)

    def wait_for_builds(self) -> None:
        """Block until the builds scheduled so far are done (tests, benchmarks)."""
        with self._lock:
            builder = self._builder
        if builder is not None:
            builder.submit(lambda: None).result()

    def shutdown(self) -> None:
        if self._builder is not None:
            self._builder.shutdown(wait=False, cancel_futures=True)

    def forget(self, service_id: str, only: IndexedCollection | None = None) -> None:
        """Drop the service's collection (only if it is still `only`, when given)."""
        with self._lock:
            if only is None or self._collections.get(service_id) is only:
                self._collections.pop(service_id, None)

    def held(self) -> dict[str, IndexedCollection]:
        with self._lock:
            return dict(self._collections)
