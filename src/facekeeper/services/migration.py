"""Switching a collection to another embedder (`facekeeper migrate`; later POST /admin/services/{id}/migrate).

Every stored example is embedded again from its stored image by the target embedder, batch by batch. The
new vectors wait in `pending_embedding`, each batch committed, while the examples keep their old vectors:
recognition goes on with the old embedder the whole time. When every example has its new vector, one
transaction, holding the collection's writer lock, copies them over, switches `service.embedder` and logs a
reset: every process then reloads the collection with the new vectors, and requests embed with the new
model. An interrupted run leaves its committed batches behind; the next run starts where it stopped.
Examples added while the run goes on are embedded by the last rounds before the switch (under the lock
nothing can be added in between).

Refused before any work: a service whose examples were stored without their image (nothing to embed again),
and a service whose migration runs already, in this process or any other sharing the database: a run holds
the service's migration lock (storage/migration_locks.py) from before its first batch until it ends, and
`progress` in any process reports `running` while someone holds it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from facekeeper.domain import CALCULATOR, ScanOptions, ServiceRecord, ServiceType, l2_normalize
from facekeeper.errors import Error, FacekeeperError
from facekeeper.index.changes import Reset
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.pool import InferencePool
from facekeeper.services.bulk import in_pool
from facekeeper.services.collection import FaceCollections
from facekeeper.storage.migration_locks import HeldLock, MigrationLocks, migration_locks
from facekeeper.storage.pending import ExampleToEmbed, PendingEmbeddings, PendingRow
from facekeeper.storage.repositories import ServiceRepository

logger = logging.getLogger(__name__)

BATCH_SIZE = 32  # examples per committed batch: what an interruption can cost at most
# Enrolment may have used a lower det_prob_threshold than the default: try lower before giving up.
FALLBACK_THRESHOLDS = (None, 0.3, 0.05)


class MigrationState(StrEnum):
    IDLE = "idle"  # nothing pending: the collection is on `embedder`
    RUNNING = "running"  # a run is going on, in this process or another one sharing the database
    INTERRUPTED = "interrupted"  # a run stopped before the switch: its work is kept, run again to finish
    DONE = "done"  # the last run in this process switched the collection
    FAILED = "failed"  # the last run in this process stopped on an error (see `error`)


@dataclass(frozen=True)
class MigrationProgress:
    service: str
    embedder: str  # the target (IDLE: the collection's embedder)
    state: MigrationState
    done: int  # examples that have their new vector
    total: int  # examples of the service
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "embedder": self.embedder,
            "state": self.state.value,
            "done": self.done,
            "total": self.total,
            "error": self.error,
        }


ProgressCallback = Callable[[MigrationProgress], None]


class EmbedderMigration:
    def __init__(
        self,
        collections: FaceCollections,
        pipeline: FacePipeline,
        pool: InferencePool | None = None,
        known_embedders: Callable[[], list[str]] | None = None,
        batch_size: int | None = None,
        locks: MigrationLocks | None = None,
    ) -> None:
        """`pool`: embed a batch's images in parallel (the CLI's inference workers); `known_embedders`
        lists registered names, for the error about an unknown one; `locks`: what keeps one run per
        service across processes (default: the one that fits the database)."""
        self.collections = collections
        self.pipeline = pipeline
        self.pool = pool
        self.known_embedders = known_embedders
        self.batch_size = batch_size or BATCH_SIZE
        self.locks = locks if locks is not None else migration_locks(collections.db)
        self._runs: dict[str, MigrationProgress] = {}
        self._guard = threading.Lock()

    # --- reading ------------------------------------------------------------------------------------

    def progress(self, service: ServiceRecord) -> MigrationProgress:
        """(state, done, total) as this process knows it, else as the database and the lock hold it."""
        with self._guard:
            run = self._runs.get(service.id)
        if run is not None and run.state is MigrationState.RUNNING:
            return run
        holder = self.locks.holder(service.id)  # a run in another process (or host)
        with self.collections.db.transaction() as session:
            total = ServiceRepository(session).example_count(service.id)
            current = ServiceRepository(session).embedder(service.id) or service.embedder
            targets = PendingEmbeddings(session).targets(service.id)
        if holder is not None:
            # Its first batch may not be committed yet: then only the lock's note names the target.
            embedder, done = targets[0] if targets else (holder or current, 0)
            return MigrationProgress(service.name, embedder, MigrationState.RUNNING, done, total)
        # This process's last run speaks only while the database agrees with it: another process may have
        # run since (to the end, or towards another embedder).
        if targets:
            embedder, done = targets[0]
            failed = run is not None and run.state is MigrationState.FAILED and run.embedder == embedder
            error = run.error if failed and run is not None else None
            state = MigrationState.FAILED if failed else MigrationState.INTERRUPTED
            return MigrationProgress(service.name, embedder, state, done, total, error)
        if run is not None and (run.state is MigrationState.DONE) == (run.embedder == current):
            return replace(run, total=total, done=total if run.state is MigrationState.DONE else run.done)
        return MigrationProgress(service.name, current, MigrationState.IDLE, total, total)

    def _base_embedders(self) -> list[str]:
        return sorted(set(self.known_embedders())) if self.known_embedders else []

    def embedders(self) -> list[str]:
        """The embedders a collection can be switched to, sorted, each followed by its `-flip` variant."""
        return [variant for name in self._base_embedders() for variant in (name, f"{name}-flip")]

    # --- running ------------------------------------------------------------------------------------

    def check(self, service: ServiceRecord, embedder: str) -> int:
        """What refuses a run before any work: not a collection, unknown embedder, images not stored.
        Returns the number of examples, for the first progress."""
        if service.type is not ServiceType.RECOGNITION:
            raise FacekeeperError(Error.SERVICE_NOT_RECOGNITION, name=service.name, type=service.type.name.lower())
        try:
            self.pipeline.embedder_for(embedder)
        except FacekeeperError as error:
            if error.error is not Error.MODEL_UNAVAILABLE:
                raise
            names = self._base_embedders()
            known = ", ".join([*names, "<any of them>-flip"]) if names else "see docs/models.md"
            raise FacekeeperError(Error.EMBEDDER_UNKNOWN, name=embedder, known=known) from None
        with self.collections.db.transaction() as session:
            missing = PendingEmbeddings(session).examples_without_image(service.id)
            total = ServiceRepository(session).example_count(service.id)
        if missing:
            raise FacekeeperError(
                Error.MIGRATION_NEEDS_IMAGES, name=service.name, missing=missing, total=total, embedder=embedder
            )
        return total

    def run(
        self,
        service: ServiceRecord,
        embedder: str,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> MigrationProgress:
        """Embed what is left, then switch. `should_stop` is asked between batches: True leaves the run
        interrupted (committed batches kept). Returns the final progress (DONE, or INTERRUPTED)."""
        lock = self._claim(service, embedder, self.check(service, embedder))
        return self._run_holding(lock, service, embedder, on_progress, should_stop)

    def start(self, service: ServiceRecord, embedder: str) -> MigrationProgress:
        """Run in a background thread (for an admin route); poll `progress`. The checks run, and the lock
        is taken, before it starts: a refusal is the caller's answer, not a line in a log."""
        total = self.check(service, embedder)
        lock = self._claim(service, embedder, total)

        def background() -> None:
            try:
                self._run_holding(lock, service, embedder, None, None)
            except Exception:
                logger.exception("migration of service %s to %s failed", service.name, embedder)

        try:
            threading.Thread(target=background, name=f"migrate-{service.name}", daemon=True).start()
        except BaseException:
            lock.release()
            self._set(
                service, MigrationProgress(service.name, embedder, MigrationState.FAILED, 0, total, "not started")
            )
            raise
        return self.progress(service)

    def _claim(self, service: ServiceRecord, embedder: str, total: int) -> HeldLock:
        """The service's run, registered here and locked for every process; MIGRATION_RUNNING when a run
        goes on in this process or in another one."""
        with self._guard:
            previous = self._runs.get(service.id)
            if previous is not None and previous.state is MigrationState.RUNNING:
                raise FacekeeperError(Error.MIGRATION_RUNNING, name=service.name)
            self._runs[service.id] = MigrationProgress(service.name, embedder, MigrationState.RUNNING, 0, total)
        lock: HeldLock | None = None
        try:
            lock = self.locks.hold(service.id, embedder)
        finally:
            if lock is None:  # refused, or the database failed: this process's last word stands again
                with self._guard:
                    if previous is None:
                        self._runs.pop(service.id, None)
                    else:
                        self._runs[service.id] = previous
        if lock is None:
            raise FacekeeperError(Error.MIGRATION_RUNNING, name=service.name)
        return lock

    def _run_holding(
        self,
        lock: HeldLock,
        service: ServiceRecord,
        embedder: str,
        on_progress: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
    ) -> MigrationProgress:
        """The run under its lock, released however it ends (after the final state is recorded here, so
        no reader of this process sees neither)."""
        try:
            try:
                final = self._run(service, embedder, on_progress, should_stop, lock)
            except BaseException as error:  # KeyboardInterrupt included: the run is over, its batches stay
                message = error.message if isinstance(error, FacekeeperError) else repr(error)
                state = MigrationState.INTERRUPTED if isinstance(error, KeyboardInterrupt) else MigrationState.FAILED
                self._set(service, replace(self._runs[service.id], state=state, error=message))
                raise
            self._set(service, final)
            return final
        finally:
            lock.release()

    def _set(self, service: ServiceRecord, progress_now: MigrationProgress) -> None:
        with self._guard:
            self._runs[service.id] = progress_now

    def _run(
        self,
        service: ServiceRecord,
        embedder: str,
        on_progress: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
        lock: HeldLock,
    ) -> MigrationProgress:
        db = self.collections.db

        def check_lock() -> None:
            """Before every batch and the switch: a run whose lock went with its connection stops, since
            another process may have started one; its committed batches stay for the next run."""
            if not lock.held():
                raise FacekeeperError(Error.STORAGE_UNAVAILABLE, reason="the migration lost its lock")

        with db.transaction(write=True) as session:
            dropped = PendingEmbeddings(session).drop_other_targets(service.id, embedder)
        if dropped:
            logger.info("service %s: dropped %d pending embeddings of an earlier target", service.name, dropped)

        def report() -> MigrationProgress:
            with db.transaction() as session:
                done = PendingEmbeddings(session).done(service.id, embedder)
                total = ServiceRepository(session).example_count(service.id)
            now = MigrationProgress(service.name, embedder, MigrationState.RUNNING, done, total)
            self._set(service, now)
            if on_progress is not None:
                on_progress(now)
            return now

        report()
        while True:
            after = ""
            while True:  # one pass over what has no new vector yet
                with db.transaction() as session:
                    batch = PendingEmbeddings(session).todo(service.id, embedder, self.batch_size, after)
                if not batch:
                    break
                if should_stop is not None and should_stop():
                    stopped = report()
                    return replace(stopped, state=MigrationState.INTERRUPTED)
                check_lock()
                rows = list(self._embedded(batch, embedder))
                with db.transaction(write=True) as session:
                    PendingEmbeddings(session).add(service.id, embedder, rows)
                after = batch[-1].image_id
                report()
            check_lock()
            if self._switch(service, embedder):
                break
        with db.transaction() as session:
            total = ServiceRepository(session).example_count(service.id)
        final = MigrationProgress(service.name, embedder, MigrationState.DONE, total, total)
        if on_progress is not None:
            on_progress(final)
        logger.info("service %s now uses embedder %s (%d examples)", service.name, embedder, total)
        return final

    def _switch(self, service: ServiceRecord, embedder: str) -> bool:
        """Under the writer lock: when no example lacks its new vector, copy them over, switch, log a
        reset. False when examples arrived since the last pass (another pass embeds them)."""
        with self.collections.write(service) as write:
            pending = PendingEmbeddings(write.session)
            if pending.remaining(service.id, embedder):
                return False
            pending.apply(service.id, embedder)
            ServiceRepository(write.session).set_embedder(service.id, embedder)
            write.record(Reset())
        return True

    def _embedded(self, batch: list[ExampleToEmbed], embedder: str) -> Iterator[PendingRow]:
        def one(example: ExampleToEmbed) -> PendingRow | None:
            with self.collections.db.transaction() as session:
                image = PendingEmbeddings(session).image(example.image_id)
            if image is None:  # deleted since the batch was read: nothing to embed
                return None
            vector, calculator = self._embed(image, embedder, example)
            return PendingRow(example.image_id, vector, calculator)

        rows = in_pool(self.pool, one, batch, 2 * self.pool.workers) if self.pool is not None else map(one, batch)
        for row in rows:
            if row is not None:
                yield row

    def _embed(self, image: bytes, embedder: str, example: ExampleToEmbed) -> tuple[np.ndarray, str]:
        """The biggest face of the stored image (enrolment stored exactly one), by the target embedder."""
        for threshold in FALLBACK_THRESHOLDS:
            options = ScanOptions(
                limit=1, det_prob_threshold=threshold, plugins=frozenset({CALCULATOR}), embedder=embedder
            )
            try:
                scan = self.pipeline.scan(image, options)
            except FacekeeperError as error:
                if error.error is Error.NO_FACES_FOUND:
                    continue
                raise
            embedding = scan.faces[0].embedding
            assert embedding is not None
            return l2_normalize(embedding), scan.plugins_versions[CALCULATOR]
        raise FacekeeperError(Error.MIGRATION_FACE_LOST, image_id=example.image_id, subject=example.subject)
