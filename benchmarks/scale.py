"""Collections at size: load, memory, recognize latency alone, busy and while the collection changes,
reloads, another process's write, listing and deleting. One real server per size and backend.

For each size N and backend:
1. seeds N synthetic, face-like examples through the storage layer (bulk inserts, one change-log reset):
   identities of `--per-subject` samples whose within-identity cosine is about 0.6, plus three subjects
   of 1,000 examples each to delete; `--work DIR` keeps seeded stores for the next run;
2. starts `facekeeper serve` (models preloaded), enrols three real faces over HTTP, and sends the first
   recognize, which loads the collection from the database; waits for its snapshot file; stops;
3. starts it again: `load_s` is that start's load of the collection (from the snapshot file, caught up
   from the log), read from the server's log line; `rss_mb` is the server's RSS after it, `index_mb`
   the collection's memory from /metrics;
4. recognize with a real one-face photo: one client (`recognize_p50_ms`, `recognize_p90_ms`), then
   3 clients (`busy_p90_ms`), and 2 recognize clients beside 1 client enrolling photos of a fourth person
   (`mixed_p90_ms`; `full_reloads` counts full loads during it, from /metrics), `--duration` s each; busy
   and mixed alternate in 5 s slices, so a busy moment of the (shared) machine weighs on both alike;
5. another process (a plain Python process on the storage layer, like the CLI) adds an example under a
   new subject; `foreign_write_visible_ms` is the time from its commit until embeddings/recognize finds it
   (the worst of three);
6. `list_page0_ms`: median of GET /faces (page 0); `subject_delete_ms`: median of deleting the three
   subjects of 1,000 examples.

Prints exactly one line per size and backend on stdout:

    scale n=<N> backend=<sqlite|postgresql> load_s=<x> rss_mb=<x> index_mb=<x> recognize_p50_ms=<x> ...

and details on stderr (`scale-detail ...`: database load time, peak RSS during the load, ?subject= and
GET /subjects (as repeated, and right after a subject was created) and consistence/status times, whether
the real faces were found top-1; `scale-recall ...`: recall@1 of approximate search on the same kind of
data when faiss is installed).

    .venv/bin/python benchmarks/scale.py                                   # 10k, 100k on both backends
    .venv/bin/python benchmarks/scale.py --sizes 1000000 --backends sqlite --work /tmp/fk-scale
    .venv/bin/python benchmarks/scale.py --sizes 10000 --duration 5       # a quick look

FACEKEEPER_* variables apply to the servers (e.g. FACEKEEPER_APPROXIMATE_SEARCH). `--approximate` sets
approximate search for the benchmark's service above `--approximate-min` examples. FACEKEEPER_SCALE_POSTGRES_PREFIX
names the PostgreSQL databases (default `fk_scale`: `fk_scale_<size>_<per subject>`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import requests
from sqlalchemy import create_engine, text

from facekeeper.domain import ServiceType
from facekeeper.index.changes import Reset, encode
from facekeeper.settings import Settings
from facekeeper.storage.bulk import BulkRepository, NewExampleRow
from facekeeper.storage.change_log import ChangeLogRepository
from facekeeper.storage.db import Database

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO.parent / "shared" / "faces"
FIXTURE_FACES = REPO / "tests" / "fixtures" / "faces"
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
# Databases are named <prefix>_<size>_<per subject>: a prefix of one's own keeps runs from two checkouts on one
# PostgreSQL server from dropping each other's stores.
POSTGRES_PREFIX = os.environ.get("FACEKEEPER_SCALE_POSTGRES_PREFIX", "fk_scale")
SERVICE = "scale"
SEED_BATCH = 20_000
DELETE_SUBJECTS = 3
DELETE_SUBJECT_SIZE = 1_000
WITHIN_IDENTITY_COSINE = 0.6
SLICE_S = 5.0
RECALL_QUERIES = 1000
APPROXIMATE_LINE = re.compile(r"approximate index of (\d+) examples of service \S+ built in ([\d.]+) s")
LOAD_LINE = re.compile(r"loaded (\d+) examples of (?:service )?\S+ from (its snapshot file|the database) in ([\d.]+) s")


# --- synthetic, face-like embeddings ----------------------------------------------------------------------


def samples_of(rng: np.random.Generator, centres: np.ndarray, per_identity: int) -> np.ndarray:
    """Unit vectors around each centre: the centre plus isotropic noise of norm sqrt(1/c - 1), so two
    samples of one identity have cosine about c = 0.6 (and two identities are nearly orthogonal, as
    embeddings of different people are)."""
    dimension = centres.shape[1]
    spread = np.sqrt(1.0 / WITHIN_IDENTITY_COSINE - 1.0)
    noise = rng.normal(size=(len(centres) * per_identity, dimension)).astype(np.float32)
    noise *= spread / np.sqrt(dimension)
    samples = np.repeat(centres, per_identity, axis=0) + noise
    samples /= np.linalg.norm(samples, axis=1, keepdims=True)
    return samples


def face_like(rng: np.random.Generator, identities: int, per_identity: int, dimension: int) -> np.ndarray:
    """(identities * per_identity, dimension) face-like unit vectors, identity by identity."""
    centres = rng.normal(size=(identities, dimension)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return samples_of(rng, centres, per_identity)


def seed(db: Database, size: int, per_subject: int, dimension: int, calculator: str) -> None:
    from facekeeper.services.api_keys import ApiKeyService

    service = ApiKeyService(db).recognition_service(SERVICE)
    rng = np.random.default_rng(20261201)
    bulk_total = DELETE_SUBJECTS * DELETE_SUBJECT_SIZE
    plan: list[tuple[str, int, int]] = [(f"delete-me-{k}", 1, DELETE_SUBJECT_SIZE) for k in range(DELETE_SUBJECTS)]
    identities = (size - bulk_total) // per_subject
    for start in range(0, identities, SEED_BATCH // per_subject):
        plan.append(("person", start, min(SEED_BATCH // per_subject, identities - start)))
    for kind, first, count in plan:
        if kind == "person":
            names = [f"person {first + i}" for i in range(count) for _ in range(per_subject)]
            vectors = face_like(rng, count, per_subject, dimension)
        else:
            names = [kind] * count
            vectors = face_like(rng, 1, count, dimension)
        with db.transaction(write=True) as session:
            bulk = BulkRepository(session)
            subjects = bulk.add_subjects(service.id, dict.fromkeys(names))
            rows = [
                NewExampleRow(subjects[name.casefold()].id, vector, calculator, None)
                for name, vector in zip(names, vectors, strict=True)
            ]
            bulk.add_examples(service.id, rows)
    with db.transaction(write=True) as session:  # as a bulk import ends: one reset, the count recounted
        ChangeLogRepository(session).append(service.id, *encode(Reset()), examples_delta=None)
    db.optimize()


# --- servers --------------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def status(self, field: str) -> float:
        """A /proc/<pid>/status field in MiB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(field)

    def loads(self) -> list[tuple[int, str, float]]:
        return [(int(n), source, float(s)) for n, source, s in LOAD_LINE.findall(self.log_path.read_text())]

    def metric(self, name: str, labels: str = "") -> float:
        body = requests.get(f"{self.url}/metrics", timeout=30).text
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name) and (not labels or labels in line) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head.split("{")[0] == name:
                    total += float(value)
        return total


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(data_dir: Path, database_url: str | None, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k != "FACEKEEPER_DATABASE_URL"}
    environment.update(PYTHONUNBUFFERED="1", FACEKEEPER_PRELOAD_MODELS="true", FACEKEEPER_LOG_LEVEL="info", **env)
    if database_url:
        environment["FACEKEEPER_DATABASE_URL"] = database_url
    log_path = data_dir / f"server-{port}.log"
    command = [sys.executable, "-m", "facekeeper", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server not ready within 300 s")
            time.sleep(0.05)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- requests -------------------------------------------------------------------------------------------


class Client:
    def __init__(self, server: Server, key: str) -> None:
        self.base = f"{server.url}/api/v1/recognition"
        self.session = requests.Session()
        self.session.headers["x-api-key"] = key

    def recognize(self, photo: bytes) -> Any:
        answer = self.session.post(f"{self.base}/recognize", files={"file": ("face.jpg", photo, "image/jpeg")})
        answer.raise_for_status()
        return answer.json()

    def enrol(self, subject: str, photo: bytes) -> Any:
        answer = self.session.post(
            f"{self.base}/faces", params={"subject": subject}, files={"file": ("face.jpg", photo, "image/jpeg")}
        )
        answer.raise_for_status()
        return answer.json()

    def top_subject(self, vector: list[float]) -> str | None:
        answer = self.session.post(f"{self.base}/embeddings/recognize", json={"embeddings": [vector]})
        answer.raise_for_status()
        similarities = answer.json()["result"][0]["similarities"]
        return similarities[0]["subject"] if similarities else None

    def timed_get(self, path: str, **params: Any) -> float:
        started = time.perf_counter()
        answer = self.session.get(f"{self.base}{path}", params=params)
        elapsed = (time.perf_counter() - started) * 1000
        answer.raise_for_status()
        return elapsed

    def listed_after_a_change(self) -> float:
        """GET /subjects (ms) right after a subject was created: the list cannot come from what the server
        kept for the previous revision."""
        name = f"listed-{uuid.uuid4().hex[:12]}"
        self.session.post(f"{self.base}/subjects", json={"subject": name}).raise_for_status()
        elapsed = self.timed_get("/subjects")
        self.session.delete(f"{self.base}/subjects/{name}").raise_for_status()
        return elapsed

    def timed_delete(self, path: str) -> float:
        started = time.perf_counter()
        answer = self.session.delete(f"{self.base}{path}")
        elapsed = (time.perf_counter() - started) * 1000
        answer.raise_for_status()
        return elapsed


def recognize_latencies(
    server: Server, key: str, photo: bytes, clients: int, seconds: float, enrol: bytes | None = None
) -> list[float]:
    """Recognize latencies (ms) of `clients` clients for `seconds`, with one enrolling client beside them
    when `enrol` is a photo."""
    latencies: list[float] = []
    guard = threading.Lock()
    stop = time.monotonic() + seconds
    errors: list[BaseException] = []

    def recognizing() -> None:
        client = Client(server, key)
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                client.recognize(photo)
                with guard:
                    latencies.append((time.perf_counter() - started) * 1000)
        except BaseException as error:
            errors.append(error)

    def enrolling() -> None:
        client = Client(server, key)
        try:
            while time.monotonic() < stop:
                client.enrol("enrolled", enrol or b"")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=recognizing) for _ in range(clients)]
    if enrol is not None:
        threads.append(threading.Thread(target=enrolling))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return latencies


def timed_status(server: Server) -> float:
    started = time.perf_counter()
    requests.get(f"{server.url}/api/v1/consistence/status", timeout=30).raise_for_status()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# --- another process writing ----------------------------------------------------------------------------


def foreign_write(data_dir: Path, database_url: str | None, vector: list[float]) -> tuple[str, float]:
    """Runs this script with --write-one in a new process; (subject, wall-clock time of its commit), read
    as soon as the process prints it (its exit is not waited for: that would add its teardown)."""
    subject = f"foreign {uuid.uuid4().hex[:8]}"
    command = [sys.executable, __file__, "--write-one", subject, "--data-dir", str(data_dir)]
    command += ["--calculator", calculator_version()]
    if database_url:
        command += ["--database-url", database_url]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(vector))
    process.stdin.close()
    line = process.stdout.readline()
    threading.Thread(target=process.wait, daemon=True).start()
    if not line.strip():
        raise RuntimeError("the writing process failed")
    return subject, float(line)


class _StoredEmbedder:
    """The pipeline as storing a ready vector needs it: the check that the vector comes from the service's
    embedder asks only for that embedder's version (no model is loaded)."""

    def __init__(self, version: str) -> None:
        self.version = version

    def embedder_for(self, name: str | None) -> _StoredEmbedder:
        return self


def write_one(subject: str, data_dir: Path, database_url: str | None) -> None:
    """The other process: one example through the same use case as every writer, then its commit time."""
    from facekeeper.index.memory import InMemoryIndex
    from facekeeper.services.api_keys import ApiKeyService
    from facekeeper.services.collection import FaceCollections
    from facekeeper.services.examples import ExampleService, NewExample

    vector = np.asarray(json.loads(sys.stdin.read()), dtype=np.float32)
    settings = Settings(data_dir=data_dir, database_url=database_url)
    db = Database(settings.resolved_database_url)
    service = ApiKeyService(db).recognition_service(SERVICE)
    collections = FaceCollections(db, InMemoryIndex())
    calculator = sys.argv[sys.argv.index("--calculator") + 1]
    examples = ExampleService(collections, _StoredEmbedder(calculator), False)  # type: ignore[arg-type]
    examples.store(service, [NewExample(subject, vector, calculator, None, None)])
    print(f"{time.time():.6f}", flush=True)
    collections.shutdown()
    db.dispose()


def embedder_dimension() -> int:
    from facekeeper.inference.registry import default_registry

    settings = Settings()
    return int(default_registry().build_embedder(settings.embedder, settings).dimension)


def calculator_version() -> str:
    from facekeeper.inference.registry import default_registry

    settings = Settings()
    return str(default_registry().build_embedder(settings.embedder, settings).version)


def visible_after_ms(client: Client, data_dir: Path, database_url: str | None, dimension: int) -> float:
    vector = np.random.default_rng().normal(size=dimension).astype(np.float32)
    vector /= np.linalg.norm(vector)
    subject, committed = foreign_write(data_dir, database_url, vector.tolist())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if client.top_subject(vector.tolist()) == subject:
            return (time.time() - committed) * 1000
        time.sleep(0.01)
    raise RuntimeError("a foreign write was not visible within 60 s")


# --- one size on one backend ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Photos:
    probe: bytes  # the one-face photo every recognize sends
    enrol: list[tuple[str, bytes, bytes]]  # (identity, photo to enrol, another photo of the same person)
    enrolling: bytes  # what the enrolling client adds: a fourth person, so the real faces stay told apart


def find_photos() -> Photos:
    folder = SHARED_FACES if SHARED_FACES.is_dir() else FIXTURE_FACES
    people = [d for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith("_")]
    enrol = []
    for person in people[:4]:
        files = sorted(f for f in person.iterdir() if f.suffix.lower() in (".jpg", ".png"))
        enrol.append((person.name, files[0].read_bytes(), files[1].read_bytes()))
    return Photos(enrol[0][2], enrol[:3], enrol[3][1])


def postgres_database(size: int, per_subject: int) -> str:
    return f"{POSTGRES_PREFIX}_{size}_{per_subject}"


def reset_postgres(name: str) -> str:
    engine = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{POSTGRES_SERVER}/{name}"


def prepare_store(
    work: Path, size: int, backend: str, per_subject: int, keep: bool
) -> tuple[Path, str | None, str, int, float]:
    """(data dir, database URL, API key, dimension, seed seconds; 0 when reused)."""
    from facekeeper.inference.registry import default_registry
    from facekeeper.services.api_keys import ApiKeyService

    settings = Settings()
    embedder = default_registry().build_embedder(settings.embedder, settings)
    data_dir = work / f"{backend}-{size}-{per_subject}"
    marker = data_dir / "seeded.json"
    database_url = f"{POSTGRES_SERVER}/{postgres_database(size, per_subject)}" if backend == "postgresql" else None
    if keep and marker.is_file():
        seeded = json.loads(marker.read_text())
        if seeded["calculator"] == embedder.version:
            return data_dir, database_url, seeded["api_key"], int(seeded["dimension"]), 0.0
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if database_url:
        reset_postgres(database_url.rsplit("/", 1)[1])
    db = Database(Settings(data_dir=data_dir, database_url=database_url).resolved_database_url)
    db.upgrade()
    key = ApiKeyService(db).create(SERVICE, ServiceType.RECOGNITION).api_key
    started = time.perf_counter()
    seed(db, size, per_subject, embedder.dimension, embedder.version)
    seconds = time.perf_counter() - started
    db.dispose()
    marker.write_text(json.dumps({"api_key": key, "dimension": embedder.dimension, "calculator": embedder.version}))
    return data_dir, database_url, key, embedder.dimension, seconds


def recall(size: int, per_subject: int, dimension: int) -> None:
    """recall@1 of approximate search against the exact scan, on N face-like examples and new samples
    of their identities (not stored), with the server's own code: a collection and its accelerator."""
    from facekeeper.index.approximate import IvfPqAccelerator
    from facekeeper.index.collection import CollectionStore

    rng = np.random.default_rng(11)
    identities = size // per_subject
    store = CollectionStore(0, dimension, size)
    centres = np.empty((identities, dimension), dtype=np.float32)
    for start in range(0, identities, SEED_BATCH // per_subject):
        count = min(SEED_BATCH // per_subject, identities - start)
        batch_centres = rng.normal(size=(count, dimension)).astype(np.float32)
        batch_centres /= np.linalg.norm(batch_centres, axis=1, keepdims=True)
        centres[start : start + count] = batch_centres
        samples = samples_of(rng, batch_centres, per_subject)
        names = [f"person {start + i}" for i in range(count) for _ in range(per_subject)]
        ids = [str(uuid.UUID(int=(start * per_subject + j) + 1)) for j in range(len(samples))]
        store.load_rows(ids, names, samples)
    who = rng.integers(0, identities, RECALL_QUERIES)
    queries = samples_of(rng, centres[who], 1)
    started = time.perf_counter()
    exact = [found for start in range(0, RECALL_QUERIES, 50) for found in store.search(queries[start : start + 50], 1)]
    exact_ms = (time.perf_counter() - started) * 1000 / RECALL_QUERIES
    started = time.perf_counter()
    store.build_accelerator(IvfPqAccelerator.build)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    approximate = [store.search(query[None, :], 1)[0] for query in queries]
    approximate_ms = (time.perf_counter() - started) * 1000 / RECALL_QUERIES
    same_example = np.mean([a[0].image_id == e[0].image_id for a, e in zip(approximate, exact, strict=True)])
    same_subject = np.mean([a[0].subject == e[0].subject for a, e in zip(approximate, exact, strict=True)])
    print(
        f"scale-recall n={size} per_subject={per_subject} within_identity_cosine={WITHIN_IDENTITY_COSINE} "
        f"recall_at_1={same_example:.3f} subject_recall_at_1={same_subject:.3f} build_s={build_s:.1f} "
        f"exact_ms_per_query_batched={exact_ms:.2f} approximate_ms_per_query={approximate_ms:.2f}",
        file=sys.stderr,
        flush=True,
    )


def detail(**fields: Any) -> None:
    print("scale-detail " + " ".join(f"{k}={v}" for k, v in fields.items()), file=sys.stderr, flush=True)


def measure(size: int, backend: str, args: argparse.Namespace, photos: Photos, work: Path) -> str:
    data_dir, database_url, key, dimension, seed_s = prepare_store(work, size, backend, args.per_subject, args.keep)
    detail(n=size, backend=backend, seed_s=f"{seed_s:.1f}")
    env: dict[str, str] = {}
    if args.approximate:
        env.update(FACEKEEPER_APPROXIMATE_SEARCH=SERVICE, FACEKEEPER_APPROXIMATE_MIN_EXAMPLES=str(args.approximate_min))
    shutil.rmtree(data_dir / "collections", ignore_errors=True)
    snapshot = None
    with running(data_dir, database_url, env) as server:  # first start: the database load, then a file
        client = Client(server, key)
        for identity, photo, _ in photos.enrol:
            client.enrol(f"real {identity}", photo)
        client.recognize(photos.probe)
        database_load = [entry for entry in server.loads() if entry[1] == "the database"]
        deadline = time.monotonic() + 600
        while snapshot is None and time.monotonic() < deadline:
            files = list((data_dir / "collections").glob("*.fks"))
            snapshot = files[0] if files else None
            time.sleep(0.2)
    detail(
        n=size,
        backend=backend,
        database_load_s=database_load[-1][2] if database_load else "nan",
        snapshot_mb=f"{snapshot.stat().st_size / 2**20:.0f}" if snapshot else "none",
    )
    with running(data_dir, database_url, env) as server:  # restart: load_s and memory
        client = Client(server, key)
        Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")  # VmHWM from now on: the load's peak
        rss_before = server.status("VmRSS")
        first = time.perf_counter()
        client.recognize(photos.probe)
        first_s = time.perf_counter() - first
        if args.approximate and size >= args.approximate_min:  # measure what serves once it is built
            deadline = time.monotonic() + 900
            while not APPROXIMATE_LINE.search(server.log_path.read_text()) and time.monotonic() < deadline:
                time.sleep(0.5)
            built = APPROXIMATE_LINE.findall(server.log_path.read_text())
            detail(n=size, backend=backend, approximate_build_s=built[-1][1] if built else "not-built")
        loads = server.loads()
        load_s = loads[-1][2] if loads else first_s
        source = loads[-1][1] if loads else "?"
        rss_mb, peak_mb = server.status("VmRSS"), server.status("VmHWM")
        index_mb = server.metric("facekeeper_index_memory_bytes") / 2**20
        held = server.metric("facekeeper_examples")  # rows held: n plus what earlier runs of a kept store enrolled
        raw_mb = held * dimension * 4 / 2**20
        found = sum(
            (client.recognize(other)["result"][0]["subjects"] or [{}])[0].get("subject") == f"real {identity}"
            for identity, _, other in photos.enrol
        )
        detail(
            n=size,
            backend=backend,
            load_source=source.replace(" ", "_"),
            first_recognize_s=f"{first_s:.2f}",
            rss_before_load_mb=f"{rss_before:.0f}",
            peak_rss_mb=f"{peak_mb:.0f}",
            load_peak_over_index=f"{(peak_mb - rss_before) / max(index_mb, 1e-9):.2f}",
            raw_matrix_mb=f"{raw_mb:.1f}",
            index_over_raw=f"{index_mb / raw_mb:.3f}",
            real_faces_top1=f"{found}/{len(photos.enrol)}",
        )
        alone = recognize_latencies(server, key, photos.probe, 1, args.duration)
        # Busy and mixed alternate in slices, so a busy moment of this shared machine hits both alike.
        busy: list[float] = []
        mixed: list[float] = []
        full_reloads = 0
        slices = max(1, round(args.duration / SLICE_S))
        for _ in range(slices):
            busy += recognize_latencies(server, key, photos.probe, 3, args.duration / slices)
            reloads_before = server.metric("facekeeper_index_loads_total", 'kind="full"')
            mixed += recognize_latencies(server, key, photos.probe, 2, args.duration / slices, enrol=photos.enrolling)
            full_reloads += int(server.metric("facekeeper_index_loads_total", 'kind="full"') - reloads_before)
        visible = max(visible_after_ms(client, data_dir, database_url, dimension) for _ in range(3))
        page0 = statistics.median(client.timed_get("/faces") for _ in range(21))
        by_subject = statistics.median(client.timed_get("/faces", subject="delete-me-0") for _ in range(21))
        subjects = statistics.median(client.timed_get("/subjects") for _ in range(5))
        subjects_changed = statistics.median(client.listed_after_a_change() for _ in range(5))
        status = statistics.median(timed_status(server) for _ in range(21))
        deletes = statistics.median(client.timed_delete(f"/subjects/delete-me-{k}") for k in range(DELETE_SUBJECTS))
        detail(
            n=size,
            backend=backend,
            recognize_requests=f"{len(alone)}/{len(busy)}/{len(mixed)}",
            list_subject_ms=f"{by_subject:.1f}",
            list_subjects_ms=f"{subjects:.1f}",
            list_subjects_changed_ms=f"{subjects_changed:.1f}",
            status_ms=f"{status:.1f}",
        )
    return (
        f"scale n={size} backend={backend} load_s={load_s:.2f} rss_mb={rss_mb:.0f} index_mb={index_mb:.1f} "
        f"recognize_p50_ms={percentile(alone, 50):.1f} recognize_p90_ms={percentile(alone, 90):.1f} "
        f"busy_p90_ms={percentile(busy, 90):.1f} mixed_p90_ms={percentile(mixed, 90):.1f} "
        f"full_reloads={full_reloads} foreign_write_visible_ms={visible:.0f} list_page0_ms={page0:.1f} "
        f"subject_delete_ms={deletes:.1f}"
    )


def restore_subjects(work: Path, size: int, backend: str, per_subject: int) -> None:
    """A kept store gets its deleted subjects back (fresh vectors of the same kind) for the next run."""
    from facekeeper.services.api_keys import ApiKeyService

    data_dir = work / f"{backend}-{size}-{per_subject}"
    marker = data_dir / "seeded.json"
    if not marker.is_file():
        return
    seeded = json.loads(marker.read_text())
    database_url = f"{POSTGRES_SERVER}/{postgres_database(size, per_subject)}" if backend == "postgresql" else None
    db = Database(Settings(data_dir=data_dir, database_url=database_url).resolved_database_url)
    service = ApiKeyService(db).recognition_service(SERVICE)
    rng = np.random.default_rng()
    for k in range(DELETE_SUBJECTS):
        vectors = face_like(rng, 1, DELETE_SUBJECT_SIZE, int(seeded["dimension"]))
        with db.transaction(write=True) as session:
            bulk = BulkRepository(session)
            subject = bulk.add_subjects(service.id, [f"delete-me-{k}"])[f"delete-me-{k}"]
            bulk.add_examples(service.id, [NewExampleRow(subject.id, v, seeded["calculator"], None) for v in vectors])
            ChangeLogRepository(session).append(service.id, *encode(Reset()), examples_delta=None)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each recognize phase")
    parser.add_argument("--per-subject", type=int, default=5, help="examples per synthetic identity")
    parser.add_argument("--approximate", action="store_true", help="approximate search for the service")
    parser.add_argument("--approximate-min", type=int, default=200_000)
    parser.add_argument("--recall", action="store_true", help="measure recall@1 of approximate search too")
    parser.add_argument("--work", type=Path, help="keep seeded stores here for the next run")
    parser.add_argument("--write-one", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--calculator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_one:
        write_one(args.write_one, args.data_dir, args.database_url)
        return
    args.keep = args.work is not None
    photos = find_photos()
    if args.recall:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            recall(size, args.per_subject, embedder_dimension())
    with tempfile.TemporaryDirectory(prefix="facekeeper-scale-") as tmp:
        work = args.work or Path(tmp)
        for backend in [b for b in args.backends.split(",") if b]:
            for size in [int(s) for s in args.sizes.split(",") if s]:
                print(measure(size, backend, args, photos, work), flush=True)
                restore_subjects(work, size, backend, args.per_subject)
                if backend == "postgresql" and not args.keep:
                    drop = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
                    with drop.connect() as connection:
                        name = postgres_database(size, args.per_subject)
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    drop.dispose()


if __name__ == "__main__":
    main()
