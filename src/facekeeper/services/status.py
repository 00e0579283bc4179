"""The unauthenticated status routes the CompreFace UI reads (§4.7)."""

from __future__ import annotations

from dataclasses import dataclass

from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository, ServiceRepository


@dataclass(frozen=True)
class Consistency:
    db_is_inconsistent: bool
    save_images_to_db: bool


class StatusService:
    def __init__(self, db: Database, calculator_version: str, save_images: bool, embedder: str = "sface") -> None:
        self.db = db
        self.calculator_version = calculator_version
        self.embedder = embedder
        self.save_images = save_images

    def consistency(self) -> Consistency:
        """Inconsistent (CompreFace's `dbIsInconsistent`) when some collection does not match the server's
        active embedder: a recognition service built with another one (it still works, with its own
        embedder, until `facekeeper migrate` switches it), or an example embedded by another model."""
        with self.db.transaction() as session:
            other_services = ServiceRepository(session).embedders() - {self.embedder}
            stale = bool(other_services) or ExampleRepository(session).has_other_calculator(self.calculator_version)
        return Consistency(stale, self.save_images)
