"""The unauthenticated status routes the CompreFace UI reads (§4.7)."""

from __future__ import annotations

from dataclasses import dataclass

from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ExampleRepository


@dataclass(frozen=True)
class Consistency:
    db_is_inconsistent: bool
    save_images_to_db: bool


class StatusService:
    def __init__(self, db: Database, calculator_version: str, save_images: bool) -> None:
        self.db = db
        self.calculator_version = calculator_version
        self.save_images = save_images

    def consistency(self) -> Consistency:
        """Inconsistent when some example was embedded by another model than the current one."""
        with self.db.transaction() as session:
            stale = ExampleRepository(session).has_other_calculator(self.calculator_version)
        return Consistency(stale, self.save_images)
