"""Bulk import and export figures, through the real CLI in subprocesses (as a user runs them).

1. `facekeeper import` of a folder of real photos (default ../shared/faces) with the real models: photos/s
   with 2 workers and with 1 (ratio measured in the same run), and the time of a re-run that resumes.
2. `facekeeper export` and `facekeeper import-archive` of synthetic collections seeded through the storage
   layer: seconds, archive size and peak RSS per size, into SQLite and into PostgreSQL, so a flat RSS shows
   the streaming (the collection is never held in memory whole).

    .venv/bin/python benchmarks/bulk.py                       # sizes 10k and 100k, 2,000 with images
    .venv/bin/python benchmarks/bulk.py --sizes 1000000       # 1M embeddings-only
    .venv/bin/python benchmarks/bulk.py --no-postgres --no-folder

Prints one line per measurement (`bulk ... key=value ...`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text

from facekeeper.domain import ServiceType
from facekeeper.inference.registry import default_registry
from facekeeper.services.api_keys import ApiKeyService
from facekeeper.settings import Settings
from facekeeper.storage.bulk import BulkRepository, NewExampleRow
from facekeeper.storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
SHARED_FACES = ROOT.parent / "shared" / "faces"
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
SUBJECT_SIZE = 10  # examples per synthetic subject
SEED_BATCH = 5_000


@dataclass(frozen=True)
class Run:
    report: dict[str, Any]
    wall_s: float
    cpu_s: float  # user + system time of the process: steadier than wall time on a shared machine
    rss_mb: float


def cli(*args: str, data_dir: Path, database_url: str | None = None) -> Run:
    """Run `facekeeper ARGS --json` and measure that process alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEKEEPER_")}
    env["FACEKEEPER_DATA_DIR"] = str(data_dir)
    if database_url:
        env["FACEKEEPER_DATABASE_URL"] = database_url
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "facekeeper", *args, "--json"], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)  # the child's own rusage: its peak RSS
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"facekeeper {' '.join(args)} failed:\n{err.read().decode()}")
        return Run(json.loads(out.read()), elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def create_service(data_dir: Path, database_url: str | None, name: str) -> None:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.upgrade()
    ApiKeyService(db).create(name, ServiceType.RECOGNITION)
    db.dispose()


def folder_import(faces: Path, base: Path) -> None:
    rates = {}
    for workers in (2, 1):
        data = base / f"folder-{workers}"
        create_service(data, None, "bench")
        run = cli("import", str(faces), "--service", "bench", "--workers", str(workers), data_dir=data)
        report = run.report
        rates[workers] = report["per_second"]
        print(
            f"bulk import folder={faces} workers={workers} files={report['total']} imported={report['imported']} "
            f"skipped={report['skipped_count']} "
            f"skipped_by_reason={json.dumps(report['skipped_by_reason'], separators=(',', ':'))} "
            f"import_s={report['elapsed_s']} wall_s={run.wall_s:.1f} files_per_s={report['per_second']} "
            f"cpu_ms_per_file={1000 * run.cpu_s / report['total']:.0f} rss_mb={run.rss_mb:.0f}",
            flush=True,
        )
        if workers == 2:
            again = cli("import", str(faces), "--service", "bench", data_dir=data)
            print(
                f"bulk import-resume folder={faces} already_imported={again.report['already_imported']} "
                f"imported={again.report['imported']} import_s={again.report['elapsed_s']} wall_s={again.wall_s:.1f}",
                flush=True,
            )
    print(f"bulk import-workers files_per_s_ratio_2_over_1={rates[2] / rates[1]:.2f}", flush=True)


def seed(db: Database, service_name: str, size: int, with_images: int, calculator: str, photos: list[bytes]) -> None:
    """`size` unit vectors (128-d), `SUBJECT_SIZE` per subject; the first `with_images` carry a real photo."""
    service = ApiKeyService(db).recognition_service(service_name)
    rng = np.random.default_rng(7)
    cycle = itertools.cycle(photos)
    for start in range(0, size, SEED_BATCH):
        count = min(SEED_BATCH, size - start)
        vectors = rng.normal(size=(count, 128)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with db.transaction(write=True) as session:
            bulk = BulkRepository(session)
            names = [f"person {(start + i) // SUBJECT_SIZE}" for i in range(count)]
            subjects = bulk.add_subjects(service.id, names)
            rows = [
                NewExampleRow(
                    subjects[name.casefold()].id,
                    vector,
                    calculator,
                    next(cycle) if start + i < with_images else None,
                )
                for i, (name, vector) in enumerate(zip(names, vectors, strict=True))
            ]
            bulk.add_examples(service.id, rows)


def archive_round_trip(base: Path, size: int, with_images: int, postgres: str | None, photos: list[bytes]) -> None:
    calculator = default_registry().build_embedder("sface", Settings()).version
    source = base / f"source-{size}-{with_images}"
    create_service(source, None, "bench")
    db = Database(Settings(data_dir=source).resolved_database_url)
    started = time.perf_counter()
    seed(db, "bench", size, with_images, calculator, photos)
    db.dispose()
    seed_s = time.perf_counter() - started
    archive = base / f"bench-{size}-{with_images}.tar"
    options = [] if with_images else ["--no-images"]
    run = cli("export", str(archive), "--service", "bench", *options, data_dir=source)
    megabytes = archive.stat().st_size / 1e6
    print(
        f"bulk export n={size} images={run.report['images']} seed_s={seed_s:.1f} export_s={run.report['elapsed_s']} "
        f"wall_s={run.wall_s:.1f} cpu_s={run.cpu_s:.1f} archive_mb={megabytes:.1f} rss_mb={run.rss_mb:.0f}",
        flush=True,
    )
    targets: list[tuple[str, str | None]] = [("sqlite", None)]
    if postgres:
        targets.append(("postgresql", postgres))
    for backend, url in targets:
        target = base / f"target-{backend}-{size}-{with_images}"
        if url:
            reset_postgres(url)
        create_service(target, url, "bench")
        run = cli("import-archive", str(archive), "--service", "bench", data_dir=target, database_url=url)
        assert run.report["imported"] == size and run.report["mode"] == "copy", run.report
        print(
            f"bulk import-archive n={size} images={with_images} backend={backend} "
            f"import_s={run.report['elapsed_s']} wall_s={run.wall_s:.1f} cpu_s={run.cpu_s:.1f} "
            f"examples_per_s={run.report['per_second']:.0f} rss_mb={run.rss_mb:.0f}",
            flush=True,
        )
    archive.unlink()


def reset_postgres(url: str, *, create: bool = True) -> None:
    """An empty database of our own (`create=False`: gone, at the end)."""
    name = url.rsplit("/", 1)[1]
    engine = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    parser.add_argument("--sizes", default="10000,100000", help="embeddings-only collection sizes")
    parser.add_argument("--with-images", type=int, default=2_000, help="size of the collection with photos")
    parser.add_argument("--no-folder", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    photos = [p.read_bytes() for p in sorted(args.faces.rglob("*.jpg"))[:50]] if args.faces.is_dir() else []
    postgres = None if args.no_postgres else f"{POSTGRES_SERVER}/fk_ops_bulk_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="facekeeper-bulk-") as tmp:
        base = Path(tmp)
        try:
            if not args.no_folder:
                folder_import(args.faces, base)
            for size in [int(s) for s in args.sizes.split(",") if s]:
                archive_round_trip(base, size, 0, postgres, photos)
            if args.with_images and photos:
                archive_round_trip(base, args.with_images, args.with_images, postgres, photos)
        finally:
            if postgres:
                reset_postgres(postgres, create=False)


if __name__ == "__main__":
    main()
