"""Switching a collection to another embedder (`facekeeper migrate`; later POST /admin/services/{id}/migrate).

Every stored example is embedded again from its stored image by the target embedder, batch by batch. The
new vectors wait in `pending_embedding`, each batch committed, while the examples keep their old vectors:
recognition goes on with the old embedder the whole time. When every example has its new vector, one
transaction, holding the collection's writer lock, copies them over, switches `service.embedder` and logs a
reset: every process then reloads the collection with the new vectors, and requests embed with the new
model. An interrupted run leaves its committed batches behind; the next run starts where it stopped.
Examples added while the run goes on are embedded by the last rounds before the switch (under the lock
nothing can be added in between).

Refused before any work: a service whose examples were stored without their image (nothing to embed again).
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
from facekeeper.storage.pending import ExampleToEmbed, PendingEmbeddings, PendingRow
from facekeeper.storage.repositories import ServiceRepository

logger = logging.getLogger(__name__)

BATCH_SIZE = 32  # examples per committed batch: what an interruption can cost at most
# Enrolment may have used a lower det_prob_threshold than the default: try lower before giving up.
FALLBACK_THRESHOLDS = (None, 0.3, 0.05)


class MigrationState(StrEnum):
    IDLE = "idle"  # nothing pending: the collection is on `embedder`
    RUNNING = "running"  # a run is going on in this process
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
    ) -> None:
        """`pool`: embed a batch's images in parallel (the CLI's inference workers); `known_embedders`
        lists registered names, for the error about an unknown one."""
        self.collections = collections
        self.pipeline = pipeline
        self.pool = pool
        self.known_embedders = known_embedders
        self.batch_size = batch_size or BATCH_SIZE
        self._runs: dict[str, MigrationProgress] = {}
        self._guard = threading.Lock()

    # --- reading ------------------------------------------------------------------------------------

    def progress(self, service: ServiceRecord) -> MigrationProgress:
        """(state, done, total) as this process knows it, else as the database holds it."""
        with self._guard:
            run = self._runs.get(service.id)
        if run is not None and run.state is MigrationState.RUNNING:
            return run
        with self.collections.db.transaction() as session:
            total = ServiceRepository(session).example_count(service.id)
            current = ServiceRepository(session).embedder(service.id) or service.embedder
            targets = PendingEmbeddings(session).targets(service.id)
        if targets:
            embedder, done = targets[0]
            state = MigrationState.FAILED if run is not None and run.state is MigrationState.FAILED else None
            error = run.error if state is not None and run is not None else None
            return MigrationProgress(service.name, embedder, state or MigrationState.INTERRUPTED, done, total, error)
        if run is not None:
            return replace(run, total=total, done=total if run.state is MigrationState.DONE else run.done)
        return MigrationProgress(service.name, current, MigrationState.IDLE, total, total)

    # --- running ------------------------------------------------------------------------------------

    def check(self, service: ServiceRecord, embedder: str) -> None:
        """What refuses a run before any work: not a collection, unknown embedder, images not stored."""
        if service.type is not ServiceType.RECOGNITION:
            raise FacekeeperError(Error.SERVICE_NOT_RECOGNITION, name=service.name, type=service.type.name.lower())
        try:
            self.pipeline.embedder_for(embedder)
        except FacekeeperError as error:
            if error.error is not Error.MODEL_UNAVAILABLE:
                raise
            known = ", ".join(self.known_embedders()) if self.known_embedders else "see docs/models.md"
            raise FacekeeperError(Error.EMBEDDER_UNKNOWN, name=embedder, known=known) from None
        with self.collections.db.transaction() as session:
            missing = PendingEmbeddings(session).examples_without_image(service.id)
            total = ServiceRepository(session).example_count(service.id)
        if missing:
            raise FacekeeperError(
                Error.MIGRATION_NEEDS_IMAGES, name=service.name, missing=missing, total=total, embedder=embedder
            )

    def run(
        self,
        service: ServiceRecord,
        embedder: str,
        on_progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> MigrationProgress:
        """Embed what is left, then switch. `should_stop` is asked between batches: True leaves the run
        interrupted (committed batches kept). Returns the final progress (DONE, or INTERRUPTED)."""
        self.check(service, embedder)
        with self._guard:
            running = self._runs.get(service.id)
            if running is not None and running.state is MigrationState.RUNNING:
                raise FacekeeperError(Error.MIGRATION_RUNNING, name=service.name)
            self._runs[service.id] = MigrationProgress(service.name, embedder, MigrationState.RUNNING, 0, 0)
        try:
            final = self._run(service, embedder, on_progress, should_stop)
        except BaseException as error:  # KeyboardInterrupt included: the run is over, its batches stay
            message = error.message if isinstance(error, FacekeeperError) else repr(error)
            state = MigrationState.INTERRUPTED if isinstance(error, KeyboardInterrupt) else MigrationState.FAILED
            self._set(service, replace(self._runs[service.id], state=state, error=message))
            raise
        self._set(service, final)
        return final

    def start(self, service: ServiceRecord, embedder: str) -> MigrationProgress:
        """Run in a background thread (for an admin route); poll `progress`. Checks run before it starts."""
        self.check(service, embedder)
        with self._guard:
            running = self._runs.get(service.id)
            if running is not None and running.state is MigrationState.RUNNING:
                raise FacekeeperError(Error.MIGRATION_RUNNING, name=service.name)

        def background() -> None:
            try:
                self.run(service, embedder)
            except Exception:
                logger.exception("migration of service %s to %s failed", service.name, embedder)

        threading.Thread(target=background, name=f"migrate-{service.name}", daemon=True).start()
        return self.progress(service)

    def _set(self, service: ServiceRecord, progress_now: MigrationProgress) -> None:
        with self._guard:
            self._runs[service.id] = progress_now

    def _run(
        self,
        service: ServiceRecord,
        embedder: str,
        on_progress: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
    ) -> MigrationProgress:
        db = self.collections.db
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
                rows = list(self._embedded(batch, embedder))
                with db.transaction(write=True) as session:
                    PendingEmbeddings(session).add(service.id, embedder, rows)
                after = batch[-1].image_id
                report()
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
