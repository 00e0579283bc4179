"""One configuration object; every field is also an environment variable with the FACEKEEPER_ prefix.

Nothing here is instantiated at import time: the CLI and the tests build a `Settings` and hand it to
`create_app`, so two apps in one process never share state.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACEKEEPER_", extra="ignore")

    host: str = Field("0.0.0.0", description="Address the HTTP server binds to.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port of the HTTP server.")
    data_dir: Path = Field(Path("data"), description="Directory holding the SQLite database and caches.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default is SQLite at <data_dir>/facekeeper.db.")

    max_file_size: int = Field(5 * 1024 * 1024, gt=0, description="Largest accepted image, in bytes.")
    max_request_size: int = Field(10 * 1024 * 1024, gt=0, description="Largest accepted request body, bytes.")
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="Largest decoded image (width x height); guards decompression bombs."
    )
    max_jpeg_scans: int = Field(
        100, gt=0, description="Most scans a JPEG may have (progressive files use ~10); bounds decoding time."
    )
    max_embeddings_per_request: int = Field(
        1000, gt=0, description="Most embeddings one embeddings/recognize or embeddings/verify request may carry."
    )
    max_matches_per_request: int = Field(
        100_000, gt=0, description="Most (face or embedding) x prediction_count matches one answer may hold."
    )
    request_timeout_s: float = Field(
        60.0,
        gt=0,
        validation_alias=AliasChoices(
            "request_timeout_s", "FACEKEEPER_REQUEST_TIMEOUT_S", "FACEKEEPER_REQUEST_TIMEOUT"
        ),
        description="Deadline of every request, from its headers to its answer (503 when passed).",
    )
    max_header_bytes: int = Field(16384, gt=0, description="Largest request line plus headers (431 when over).")
    header_timeout_s: float = Field(10.0, gt=0, description="Time a connection has to send complete headers.")
    body_timeout_s: float = Field(30.0, gt=0, description="Longest pause while a request body arrives (408).")
    max_connections: int = Field(256, gt=0, description="Open connections served at once; more get 503.")
    shutdown_timeout_s: float = Field(
        30.0, gt=0, description="SIGTERM/SIGINT: the process exits within this time, whatever is queued."
    )
    database_workers: int = Field(4, ge=1, description="Threads running database and index work.")
    max_detect_size: int = Field(640, gt=0, description="Longest side of the copy the detector sees, px.")
    save_images_to_db: bool = Field(True, description="Store each example's original image bytes.")

    detector: str = Field("yunet", description="Detector model name from the inference registry.")
    embedder: str = Field(
        "sface",
        description="Embedder of new collections (registry name: sface, dlib, sface+dlib, <name>-flip, or a "
        "manifest's name); existing collections keep theirs until `facekeeper migrate`.",
    )
    embedder_manifests: str = Field(
        "", description="Operator ONNX embedders: comma-separated JSON manifest paths (docs/models.md)."
    )
    det_prob_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Default detection threshold; None uses the detector's calibrated one."
    )
    inference_workers: int = Field(2, ge=1, description="Worker threads running models concurrently.")
    onnx_threads: int = Field(1, ge=1, description="Threads each model uses per inference (any runtime).")
    runtime: Literal["auto", "onnxruntime", "openvino"] = Field(
        "auto",
        description="Runtime the models run on: `auto` measures each model on every installed runtime and "
        "precision at load time and keeps the fastest; onnxruntime is the fallback.",
    )
    runtime_precision: Literal["auto", "f32"] = Field(
        "auto",
        description="Precisions a runtime may compute in: `auto` also tries bf16 and f16 where the CPU computes "
        "them natively (kept only when their outputs agree with f32); `f32` keeps every model at full "
        "precision, so answers do not depend on the CPU.",
    )
    plugins: str = Field(
        "age,gender,mask,pose",
        description="Face plugins the server offers (comma-separated slugs, like CompreFace's EXTRA_PLUGINS); "
        "empty for none. `calculator` and `landmarks` are always available.",
    )
    preload_models: bool = Field(False, description="Load the models at start-up instead of first use.")

    workers: int = Field(
        1,
        ge=1,
        description="Server processes sharing the port (`serve --workers`); keep workers x inference_workers <= cores.",
    )
    index_memory_limit_mb: int = Field(
        0, ge=0, description="Memory bound of the collections held in memory, MiB; 0 = no bound."
    )
    approximate_search: str = Field(
        "",
        description="Recognition services (names, comma-separated, or * for all) whose collections use approximate "
        "search (faiss IVF-PQ, exactly re-ranked) once they hold approximate_min_examples; others stay exact.",
    )
    approximate_min_examples: int = Field(
        200_000, ge=1, description="Size from which a service listed in approximate_search searches approximately."
    )
    index_snapshots: bool = Field(
        True,
        description="Keep each collection's arrays in a file under <data_dir>/collections, so a restart reads one "
        "file and catches up from the change log instead of loading every example from the database.",
    )
    change_log_keep_entries: int = Field(
        10_000, ge=100, description="Change-log entries kept per service; a process further behind reloads."
    )

    admin_session_hours: float = Field(
        12.0, gt=0, description="How long an admin sign-in lasts before the web UI asks for the password again."
    )
    admin_secure_cookie: bool | None = Field(
        None,
        description="Mark the admin session cookie Secure; None: when the request came over https "
        "(directly or as X-Forwarded-Proto from a proxy).",
    )
    admin_login_attempts: int = Field(
        5, ge=1, description="Failed admin sign-ins (per email, and per client address) allowed per window."
    )
    admin_login_window_s: float = Field(
        300.0, gt=0, description="The window of admin_login_attempts, seconds; then 429 with Retry-After."
    )
    password_hash_memory_kib: int = Field(
        19456, ge=8, description="argon2id memory cost of admin passwords, KiB (OWASP's minimum: 19456)."
    )
    password_hash_time_cost: int = Field(2, ge=1, description="argon2id passes over that memory.")
    usage_flush_interval_s: float = Field(
        10.0, gt=0, description="How often each process adds its face API request counts to the database."
    )

    log_level: str = Field("info", description="Log level of the facekeeper and uvicorn loggers.")

    @property
    def approximate_services(self) -> frozenset[str]:
        """`approximate_search` as service names ("*": every service)."""
        return frozenset(name.strip() for name in self.approximate_search.split(",") if name.strip())

    @property
    def plugin_slugs(self) -> list[str]:
        """`plugins` split on commas and whitespace, lower case, duplicates dropped, order kept."""
        slugs = (slug.lower() for slug in re.split(r"[,\s]+", self.plugins) if slug)
        return list(dict.fromkeys(slugs))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'facekeeper.db').resolve()}"
