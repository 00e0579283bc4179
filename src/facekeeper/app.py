"""`create_app(settings)`: the only place where the parts of Facekeeper are put together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from facekeeper import __version__
from facekeeper.api import detection, faces, health, metrics, recognition, status, subjects, verification, web
from facekeeper.api.admin import admin_router
from facekeeper.api.deadlines import DeadlineMiddleware
from facekeeper.api.errors import install_error_handlers
from facekeeper.api.metrics import RequestMetricsMiddleware
from facekeeper.api.middleware import (
    AccessLogMiddleware,
    AdminHeadersMiddleware,
    BodyLimitMiddleware,
    CorsMiddleware,
    HeadMiddleware,
    TrailingSlashMiddleware,
)
from facekeeper.index.memory import InMemoryIndex
from facekeeper.index.snapshot import SnapshotStore
from facekeeper.inference.models.manifest import manifest_names
from facekeeper.inference.registry import ModelRegistry, build_pipeline, default_registry
from facekeeper.metrics import Metrics
from facekeeper.services.accounts import AccountService
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.services.applications import ApplicationService
from facekeeper.services.bundle import Services
from facekeeper.services.collection import FaceCollections
from facekeeper.services.detection import DetectionService
from facekeeper.services.examples import ExampleService
from facekeeper.services.health import HealthService
from facekeeper.services.migration import EmbedderMigration
from facekeeper.services.passwords import Passwords
from facekeeper.services.ratelimit import AttemptLimiter
from facekeeper.services.recognition import RecognitionService
from facekeeper.services.sessions import SessionService
from facekeeper.services.status import StatusService
from facekeeper.services.subjects import SubjectService
from facekeeper.services.usage import UsageCounter
from facekeeper.services.verification import VerificationService
from facekeeper.settings import Settings
from facekeeper.storage.db import Database
from facekeeper.workers import Workers


def build_services(settings: Settings, registry: ModelRegistry | None = None) -> Services:
    """Models are built but not loaded: they load on first use (or now, with `preload_models`).

    `registry` defaults to the built-in models plus installed `facekeeper.models` entry points.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.upgrade()
    workers = Workers(settings.inference_workers, settings.database_workers, local_database=db.is_sqlite)
    models = registry if registry is not None else default_registry()
    pipeline = build_pipeline(settings, models, workers.inference_pool)
    if settings.preload_models:
        pipeline.load()
    app_metrics = Metrics()
    pipeline.scan_observers.append(app_metrics.observe_scan)
    collections = FaceCollections(
        db,
        InMemoryIndex(
            memory_limit_bytes=settings.index_memory_limit_mb * 1024 * 1024,
            approximate_min_examples=settings.approximate_min_examples,
        ),
        keep_log_entries=settings.change_log_keep_entries,
        events=app_metrics,
        loads=workers.collection_loads,
        calculators=lambda name: pipeline.embedder_for(name).version,
        approximate_services=settings.approximate_services,
        snapshots=SnapshotStore(settings.data_dir / "collections") if settings.index_snapshots else None,
    )
    app_metrics.report_collections(collections.states)
    usage = UsageCounter(db, settings.usage_flush_interval_s)
    accounts = AccountService(db, Passwords(settings.password_hash_memory_kib, settings.password_hash_time_cost))
    limiter = AttemptLimiter(db, settings.admin_login_attempts, settings.admin_login_window_s)
    return Services(
        settings=settings,
        db=db,
        pipeline=pipeline,
        workers=workers,
        collections=collections,
        metrics=app_metrics,
        api_keys=ApiKeyService(db, settings.embedder),
        subjects=SubjectService(collections),
        examples=ExampleService(collections, pipeline, settings.save_images_to_db),
        recognition=RecognitionService(collections, pipeline, settings.max_matches_per_request),
        detection=DetectionService(pipeline),
        verification=VerificationService(pipeline),
        status=StatusService(db, pipeline.embedder.version, settings.save_images_to_db, settings.embedder),
        health=HealthService(db, pipeline, workers.inference_pool, models_loaded=settings.preload_models),
        usage=usage,
        accounts=accounts,
        sessions=SessionService(db, accounts, limiter, timedelta(hours=settings.admin_session_hours)),
        applications=ApplicationService(db, usage, settings.embedder),
        migration=EmbedderMigration(
            collections,
            pipeline,
            workers.inference_pool,
            known_embedders=lambda: [*models.embedder_names(), *manifest_names(settings)],
        ),
    )


def create_app(
    settings: Settings, registry: ModelRegistry | None = None, *, services: Services | None = None
) -> FastAPI:
    """`services` already built (by `serve`, which opens the database before it listens), or built at
    start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = built = services or build_services(settings, registry)
        built.collections.start()
        built.usage.start()
        try:
            yield
        finally:
            built.close()

    app = FastAPI(
        title="Facekeeper",
        version=__version__,
        description="Self-hosted face recognition with the CompreFace REST API (v1).",
        lifespan=lifespan,
        # Starlette would answer `DELETE /faces//` with a redirect to `/faces`, which clients follow.
        redirect_slashes=False,
    )
    install_error_handlers(app)
    for module in (subjects, faces, recognition, detection, verification, status, health, metrics):
        app.include_router(module.router)
    app.include_router(admin_router())
    app.include_router(faces.static_router)
    app.include_router(web.web_router(web.packaged_web_folder()))
    # Added innermost first: requests pass CORS, logging, the size limit, the deadline, HEAD, then routing.
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(AdminHeadersMiddleware)
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(HeadMiddleware)
    app.add_middleware(
        DeadlineMiddleware, request_timeout_s=settings.request_timeout_s, body_timeout_s=settings.body_timeout_s
    )
    app.add_middleware(BodyLimitMiddleware, max_request_size=settings.max_request_size)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CorsMiddleware)
    return app
