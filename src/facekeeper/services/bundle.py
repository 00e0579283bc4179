"""The use cases of one running app, built together by `create_app` and read by the API's dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from facekeeper.inference.pipeline import FacePipeline
from facekeeper.metrics import Metrics
from facekeeper.services.accounts import AccountService
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.applications import ApplicationService
from facekeeper.services.collection import FaceCollections
from facekeeper.services.detection import DetectionService
from facekeeper.services.examples import ExampleService
from facekeeper.services.health import HealthService
from facekeeper.services.migration import EmbedderMigration
from facekeeper.services.recognition import RecognitionService
from facekeeper.services.sessions import SessionService
from facekeeper.services.status import StatusService
from facekeeper.services.subjects import SubjectService
from facekeeper.services.usage import UsageCounter
from facekeeper.services.verification import VerificationService
from facekeeper.settings import Settings
from facekeeper.storage.db import Database
from facekeeper.workers import Workers


@dataclass
class Services:
    settings: Settings
    db: Database
    pipeline: FacePipeline
    workers: Workers
    collections: FaceCollections
    metrics: Metrics
    api_keys: ApiKeyService
    subjects: SubjectService
    examples: ExampleService
    recognition: RecognitionService
    detection: DetectionService
    verification: VerificationService
    status: StatusService
    health: HealthService
    usage: UsageCounter
    accounts: AccountService
    sessions: SessionService
    applications: ApplicationService
    migration: EmbedderMigration

    def close(self) -> None:
        """Stop the workers and release the database connections (app shutdown, end of a CLI command)."""
        self.usage.stop()
        self.workers.shutdown()
        self.collections.shutdown()
        self.db.dispose()
