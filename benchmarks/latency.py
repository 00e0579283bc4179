"""Latency, throughput, memory and start-up of a real Facekeeper server, measured in one run on this machine.

The figures depend on the machine, so this is a script that prints them next to the targets of the
performance issue (PASS/MISS is informative), not a test that asserts them. One run:

1. creates three services with the CLI, then starts `facekeeper serve` on a free 127.0.0.1 port with a
   temporary data dir and times Popen -> first answered GET /api/v1/config and -> first answered detect
   (models load lazily, so that first detect includes loading them);
2. enrols a real collection of 1,000 examples over HTTP (photos of ../shared/faces, repeated under
   different subject names);
3. times detect, recognize and verification over HTTP and, alternately, the same use case in-process
   (`build_services(...)`, no HTTP), on a one-face 640x480 photo and on a group photo; then recognize with
   every face plugin (age, gender, mask, pose) against plain recognize, wall time and server CPU time;
4. measures requests per second of recognize with 1 and with 4 concurrent clients;
5. times the same decoded photos through the `face_recognition` library (dlib HOG + ResNet);
6. samples the server's RSS all along, reads VmHWM, stops the server with SIGTERM and checks it exits,
   then restarts it once with FACEKEEPER_PRELOAD_MODELS=true to time that start-up too.

Usage: .venv/bin/python benchmarks/latency.py [--quick] [--json] [--faces DIR]
FACEKEEPER_* variables (e.g. FACEKEEPER_INFERENCE_WORKERS, FACEKEEPER_ONNX_THREADS) apply to the server
and to the in-process pipeline alike.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
import requests

from facekeeper.app import build_services
from facekeeper.domain import ScanOptions, ServiceRecord
from facekeeper.inference.images import decode_image
from facekeeper.services.bundle import Services
from facekeeper.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO.parent / "shared" / "faces"
FIXTURES = REPO / "tests" / "fixtures"
ONE_FACE = "obama/ageitgey__examples_obama-480p.jpg"
GROUP = "_groups/exadel-inc__embedding-calculator_sample_images_015_6.jpg"
FIXTURE_ONE_FACE = "faces/obama_1.jpg"
FIXTURE_GROUP = "groups/five_faces.jpg"
ENROL_MAX_SIDE = 640  # enrolment photos are shrunk: the detector sees 640 px anyway, and 1,000 uploads stay fast
MAX_PIXELS = 10**8

TARGET_HTTP_RATIO = 1.25
TARGET_SCALING = 1.6
TARGET_SPEEDUP = 3.0
TARGET_RSS_MB = 500.0
TARGET_START_S = 3.0
TARGET_PLUGINS_RATIO = 1.3
ALL_PLUGINS = "age,gender,mask,pose"


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run takes a few minutes, --quick is a smoke run."""

    warmup: int
    iterations: int
    collection: int
    throughput_requests: int
    baseline_iterations: int

    @staticmethod
    def of(quick: bool) -> Plan:
        if quick:
            return Plan(warmup=2, iterations=6, collection=100, throughput_requests=24, baseline_iterations=3)
        return Plan(warmup=5, iterations=60, collection=1000, throughput_requests=240, baseline_iterations=15)


@dataclass(frozen=True)
class Photo:
    name: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class EnrolPhoto:
    identity: str
    data: bytes


@dataclass(frozen=True)
class Stats:
    p50_ms: float
    p90_ms: float
    count: int

    @staticmethod
    def of(samples_ms: list[float]) -> Stats:
        values = np.asarray(samples_ms, dtype=np.float64)
        return Stats(float(np.percentile(values, 50)), float(np.percentile(values, 90)), len(samples_ms))


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    started: float  # time.perf_counter() just before Popen
    log_path: Path


@dataclass(frozen=True)
class StartUp:
    config_s: float  # Popen -> first 200 of GET /api/v1/config
    detect_s: float  # Popen -> first 200 of POST /api/v1/detection/detect (includes lazy model loading)


@dataclass
class Report:
    """Everything measured; printed as tables and, with --json, as one JSON object."""

    machine: dict[str, Any] = field(default_factory=dict)
    photos: dict[str, Any] = field(default_factory=dict)
    start_up: dict[str, Any] = field(default_factory=dict)
    collection: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    http_floor: dict[str, Any] = field(default_factory=dict)
    plugins: dict[str, Any] = field(default_factory=dict)
    throughput: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    shutdown: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)


# --- photos ---------------------------------------------------------------------------------------------


def to_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()


def cover_crop(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height, then crop: centred across, upper part down (where portrait faces are)."""
    h, w = rgb.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(
        rgb, (max(width, round(w * scale)), max(height, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    rh, rw = resized.shape[:2]
    left = (rw - width) // 2
    top = min((rh - height) // 4, rh - height)
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def shrink(rgb: np.ndarray, longest: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= longest:
        return rgb
    factor = longest / max(h, w)
    return cv2.resize(rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)


def photo_from(path: Path, name: str, size: tuple[int, int] | None = None) -> Photo:
    """The one-face photo is made exactly 640x480 in memory; the group photo is sent as stored."""
    if size is None:
        data = path.read_bytes()
        height, width = decode_image(data, MAX_PIXELS).shape[:2]
        return Photo(name, data, width, height)
    rgb = cover_crop(decode_image(path.read_bytes(), MAX_PIXELS), *size)
    return Photo(name, to_jpeg(rgb), size[0], size[1])


def find_photos(faces_dir: Path) -> tuple[Photo, Photo, list[EnrolPhoto], str]:
    """../shared/faces when present, else the test fixtures (fewer identities, same code path)."""
    if (faces_dir / ONE_FACE).is_file() and (faces_dir / GROUP).is_file():
        one, group, source = faces_dir / ONE_FACE, faces_dir / GROUP, str(faces_dir)
        folders = [d for d in sorted(faces_dir.iterdir()) if d.is_dir() and not d.name.startswith("_")]
        files = [(d.name, f) for d in folders for f in sorted(d.iterdir()) if f.suffix.lower() in (".jpg", ".png")]
    else:
        one, group, source = FIXTURES / FIXTURE_ONE_FACE, FIXTURES / FIXTURE_GROUP, str(FIXTURES)
        files = [(f.stem.rsplit("_", 1)[0], f) for f in sorted((FIXTURES / "faces").glob("*.jpg"))]
    enrol = [
        EnrolPhoto(identity, to_jpeg(shrink(decode_image(f.read_bytes(), MAX_PIXELS), ENROL_MAX_SIDE)))
        for identity, f in files
    ]
    return photo_from(one, f"one-face {one.name}", (640, 480)), photo_from(group, f"group {group.name}"), enrol, source


# --- timing ---------------------------------------------------------------------------------------------


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000.0


def time_alternating(
    first: Callable[[], object], second: Callable[[], object], warmup: int, iterations: int
) -> tuple[Stats, Stats]:
    """Interleaved so that a slow moment of the machine (other processes, clock changes) hits both sides."""
    for _ in range(warmup):
        first()
        second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(iterations):
        a.append(timed_ms(first))
        b.append(timed_ms(second))
    return Stats.of(a), Stats.of(b)


# --- server process -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def facekeeper_command(*args: str) -> list[str]:
    """`python -m facekeeper` of this interpreter, so the venv that runs the benchmark is the one measured."""
    return [sys.executable, "-m", "facekeeper", *args]


def create_service(data_dir: Path, service_type: str, name: str) -> str:
    """Through the CLI, as an operator would; returns the API key."""
    args = ("service", "create", "--type", service_type, "--name", name, "--data-dir", str(data_dir), "--json")
    done = subprocess.run(facekeeper_command(*args), capture_output=True, text=True, check=True, timeout=60)
    return str(json.loads(done.stdout)["api_key"])


def start_server(data_dir: Path, env_overrides: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_overrides or {})}
    log_path = data_dir / f"server-{port}.log"
    command = facekeeper_command("serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir))
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    return Server(process, f"http://127.0.0.1:{port}", started, log_path)


def wait_for_answers(server: Server, detect_key: str, photo: Photo, timeout_s: float = 60.0) -> StartUp:
    """Polls the config route until it answers, then sends one real detect (which loads the models)."""
    deadline = server.started + timeout_s
    with requests.Session() as session:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited with {server.process.returncode}: {server.log_path.read_text()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"server did not answer within {timeout_s} s")
            try:
                if session.get(f"{server.url}/api/v1/config", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.01)
        config_s = time.perf_counter() - server.started
        detect(session, server.url, detect_key, photo)
        detect_s = time.perf_counter() - server.started
    return StartUp(config_s, detect_s)


def stop_server(server: Server, timeout_s: float = 30.0) -> tuple[int | None, float]:
    """SIGTERM, as a process manager would; a server that does not exit is killed and reported as None."""
    started = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    try:
        code: int | None = server.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        code = None
    return code, time.perf_counter() - started


class PeakRss(threading.Thread):
    """Samples the server's resident set every 50 ms; VmHWM (read at the end) catches what sampling misses."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak_bytes = max(self.peak_bytes, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop_event.wait(self.interval_s)

    def current_mb(self) -> float:
        return float(self.process.memory_info().rss / 2**20)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class CpuWindow:
    """Average cores busy between creation and `cores_used()`: other processes, the server, this benchmark.

    On 2 cores another busy process (a test run, a build) skews latency and, above all, the 4-client
    scaling; the server's own figure shows whether it used both cores.
    """

    def __init__(self, server_pid: int | None = None) -> None:
        self.started = time.perf_counter()
        self.busy = self._machine_busy()
        self.ours = self._own()
        self.server = 0.0 if server_pid is None else self._server(server_pid)

    @staticmethod
    def _machine_busy() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    @staticmethod
    def _own() -> float:
        """This process and its reaped children (the CLI calls), not the running server."""
        t = psutil.Process().cpu_times()
        return float(t.user + t.system + t.children_user + t.children_system)

    @staticmethod
    def _server(pid: int) -> float:
        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system)

    def cores_used(self, server_pid: int) -> dict[str, float]:
        wall = time.perf_counter() - self.started
        server = self._server(server_pid) - self.server
        ours = self._own() - self.ours
        others = max(0.0, self._machine_busy() - self.busy - ours - server)
        return {"seconds": wall, "others": others / wall, "server": server / wall, "benchmark": ours / wall}


def vm_hwm_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# --- HTTP calls -----------------------------------------------------------------------------------------


def _post(
    session: requests.Session, url: str, key: str, files: dict[str, tuple[str, bytes, str]], **params: Any
) -> Any:
    response = session.post(url, headers={"x-api-key": key}, files=files, params=params or None, timeout=60)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"POST {url} -> {response.status_code}: {response.text[:300]}")
    return response.json()


def _file(data: bytes, name: str = "photo.jpg") -> tuple[str, bytes, str]:
    return (name, data, "image/jpeg")


def detect(session: requests.Session, base: str, key: str, photo: Photo) -> Any:
    return _post(session, f"{base}/api/v1/detection/detect", key, {"file": _file(photo.data)})


def recognize(session: requests.Session, base: str, key: str, photo: Photo, **params: Any) -> Any:
    return _post(session, f"{base}/api/v1/recognition/recognize", key, {"file": _file(photo.data)}, **params)


def verify(session: requests.Session, base: str, key: str, source: Photo, target: Photo) -> Any:
    files = {"source_image": _file(source.data, "source.jpg"), "target_image": _file(target.data, "target.jpg")}
    return _post(session, f"{base}/api/v1/verification/verify", key, files)


# --- collection -----------------------------------------------------------------------------------------


NO_USABLE_FACE = frozenset({28, 31})  # no face found, more than one face: that photo can never be enrolled


def enrol_collection(base: str, key: str, photos: list[EnrolPhoto], size: int, clients: int = 4) -> dict[str, Any]:
    """Real enrolments over HTTP (scan + store), cycling through the photos under a new subject per round.

    Photos without exactly one face are dropped after their first try; any other refusal is counted and
    the photo is tried again in the next round (4 clients enrol photos of one new subject concurrently).
    """
    local = threading.local()
    refusals: list[str] = []  # list.append is atomic: the worker threads share it

    def enrol(task: tuple[EnrolPhoto, str]) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        photo, subject = task
        response = local.session.post(
            f"{base}/api/v1/recognition/faces",
            headers={"x-api-key": key},
            params={"subject": subject},
            files={"file": _file(photo.data)},
            timeout=60,
        )
        if response.status_code == 201:
            return "enrolled"
        if response.status_code == 400:
            body = response.json()
            refusals.append(f"{body.get('code')}: {body.get('message')}")
            return "unusable" if body.get("code") in NO_USABLE_FACE else "failed"
        raise RuntimeError(f"enrolment -> {response.status_code}: {response.text[:300]}")

    subjects: set[str] = set()
    usable, done, round_number = list(photos), 0, 0
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        while done < size:
            if not usable or round_number > 10 * size:
                raise RuntimeError(f"cannot enrol {size} examples: {sorted(set(refusals))}")
            batch = [(p, f"{p.identity}-{round_number}") for p in usable][: size - done]
            outcomes = list(pool.map(enrol, batch))
            done += outcomes.count("enrolled")
            subjects.update(subject for (_, subject), o in zip(batch, outcomes, strict=True) if o == "enrolled")
            dropped = {id(p) for (p, _), o in zip(batch, outcomes, strict=True) if o == "unusable"}
            usable = [p for p in usable if id(p) not in dropped]
            round_number += 1
    seconds = time.perf_counter() - started
    with requests.Session() as session:
        listing = session.get(f"{base}/api/v1/recognition/faces", headers={"x-api-key": key}, params={"size": 1})
        listing.raise_for_status()
        total = int(listing.json()["total_elements"])
    if total != size:
        raise RuntimeError(f"the collection holds {total} examples, expected {size}")
    return {
        "examples": total,
        "subjects": len(subjects),
        "distinct_photos": len(usable),
        "refusals": {message: refusals.count(message) for message in sorted(set(refusals))},
        "seconds": seconds,
        "per_example_ms": seconds * 1000.0 / size,
        "clients": clients,
    }


# --- measurements ---------------------------------------------------------------------------------------


def measure_latency(
    base: str, keys: dict[str, str], services: Services, record: ServiceRecord, one: Photo, group: Photo, plan: Plan
) -> dict[str, Any]:
    """Same use case over HTTP and in-process, so the ratio is HTTP + parsing + thread hand-off only."""
    plain = ScanOptions()  # what the routes build when no parameter is given
    results: dict[str, Any] = {}
    with requests.Session() as session:
        for photo_key, photo in (("one_face", one), ("group", group)):
            cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
                "detect": (
                    functools.partial(detect, session, base, keys["detection"], photo),
                    functools.partial(services.detection.detect, photo.data, plain),
                ),
                "recognize": (
                    functools.partial(recognize, session, base, keys["recognition"], photo),
                    functools.partial(services.recognition.recognize, record, photo.data, plain, 1),
                ),
                "verify": (
                    functools.partial(verify, session, base, keys["verification"], one, photo),
                    functools.partial(services.verification.verify, one.data, photo.data, plain),
                ),
            }
            for route, (over_http, in_process) in cases.items():
                http_stats, local_stats = time_alternating(over_http, in_process, plan.warmup, plan.iterations)
                results[f"{route}/{photo_key}"] = {
                    "http": asdict(http_stats),
                    "in_process": asdict(local_stats),
                    "ratio_p50": http_stats.p50_ms / local_stats.p50_ms,
                }
    return results


def measure_plugins(base: str, key: str, one: Photo, group: Photo, plan: Plan, server_pid: int) -> dict[str, Any]:
    """Recognize with every plugin (`face_plugins=age,gender,mask,pose`) against plain recognize, alternating.

    Besides wall time, the server's CPU time per request of each kind (both cores count), and the median
    per-face ms of each model from `status=true` answers.
    """
    server = psutil.Process(server_pid)
    results: dict[str, Any] = {}
    with requests.Session() as session:
        for photo_key, photo in (("one_face", one), ("group", group)):
            cpu_ms = {"plain": 0.0, "plugins": 0.0}

            def timed_cpu(kind: str, photo: Photo = photo, cpu_ms: dict[str, float] = cpu_ms, **params: Any) -> Any:
                before = sum(server.cpu_times()[:2])
                answer = recognize(session, base, key, photo, **params)
                cpu_ms[kind] += (sum(server.cpu_times()[:2]) - before) * 1000.0
                return answer

            plain = functools.partial(timed_cpu, "plain")
            plugins = functools.partial(timed_cpu, "plugins", face_plugins=ALL_PLUGINS)
            for _ in range(plan.warmup):  # the first plugin request loads (and converts) their models
                plain()
                plugins()
            cpu_ms.update(plain=0.0, plugins=0.0)
            plain_stats, plugin_stats = time_alternating(plain, plugins, 0, plan.iterations)
            per_model: dict[str, list[float]] = {}
            for _ in range(max(3, plan.iterations // 4)):
                answer = recognize(session, base, key, photo, face_plugins=ALL_PLUGINS, status="true")
                for model, ms in answer["result"][0]["execution_time"].items():
                    per_model.setdefault(model, []).append(ms)
            results[photo_key] = {
                "plain": asdict(plain_stats),
                "plugins": asdict(plugin_stats),
                "ratio_p50": plugin_stats.p50_ms / plain_stats.p50_ms,
                "server_cpu_ms_per_request": {k: v / plan.iterations for k, v in cpu_ms.items()},
                "cpu_ratio": cpu_ms["plugins"] / cpu_ms["plain"] if cpu_ms["plain"] else float("nan"),
                "per_face_ms": {model: float(np.median(values)) for model, values in per_model.items()},
            }
    return results


def measure_http_floor(base: str, plan: Plan) -> dict[str, Any]:
    """GET /api/v1/config does no work: its round trip is the fixed cost of one HTTP request.

    Measured on a kept-alive connection (what the other figures use) and on a new connection per request;
    a kept-alive figure far above the new-connection one points at a TCP stall (Nagle + delayed ACK).
    """
    url = f"{base}/api/v1/config"
    with requests.Session() as session:
        kept_alive, fresh = time_alternating(
            lambda: session.get(url, timeout=10).raise_for_status(),
            lambda: requests.get(url, timeout=10, headers={"Connection": "close"}).raise_for_status(),
            plan.warmup,
            plan.iterations,
        )
    return {"keep_alive": asdict(kept_alive), "new_connection": asdict(fresh)}


def requests_per_second(base: str, key: str, photo: Photo, clients: int, total: int) -> float:
    """`total` recognize requests split over `clients` threads, one keep-alive session each."""
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []
    shares = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def client(count: int) -> None:
        try:
            with requests.Session() as session:
                recognize(session, base, key, photo)  # connect and warm outside the timed window
                barrier.wait()
                for _ in range(count):
                    recognize(session, base, key, photo)
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]!r}")
    return total / elapsed


def measure_throughput(
    base: str, key: str, photo: Photo, plan: Plan, server_pid: int, rounds: int = 2
) -> dict[str, Any]:
    """1 client and 4 clients take turns (`rounds` times each) so that a busy moment does not favour one;
    the cores each phase kept busy show whether the server used both cores, or had them to use."""
    per_round = plan.throughput_requests // rounds
    seconds = {1: 0.0, 4: 0.0}
    cores: dict[int, list[dict[str, float]]] = {1: [], 4: []}
    for _ in range(rounds):
        for clients in seconds:
            window = CpuWindow(server_pid)
            seconds[clients] += per_round / requests_per_second(base, key, photo, clients, per_round)
            cores[clients].append(window.cores_used(server_pid))
    single, four = per_round * rounds / seconds[1], per_round * rounds / seconds[4]

    def mean(clients: int, who: str) -> float:
        return float(np.mean([c[who] for c in cores[clients]]))

    return {
        "requests": per_round * rounds,
        "rps_1_client": single,
        "rps_4_clients": four,
        "ratio": four / single,
        "server_cores_1_client": mean(1, "server"),
        "server_cores_4_clients": mean(4, "server"),
        "other_processes_cores": (mean(1, "others") + mean(4, "others")) / 2,
    }


def measure_baseline(services: Services, photos: list[Photo], plan: Plan) -> dict[str, Any]:
    """face_recognition (HOG, upsample 1; ResNet, 1 jitter: its defaults) vs Facekeeper detect + embed.

    Both get the same decoded RGB array, so neither side's decoding is counted.
    """
    try:
        import face_recognition  # optional: only this section needs it
    except Exception as error:  # dlib-bin missing, models missing, or a broken wheel
        return {"skipped": f"import face_recognition failed: {error!r}"}
    calculator = ScanOptions(plugins=frozenset({"calculator"}))
    results: dict[str, Any] = {"library": f"face_recognition {getattr(face_recognition, '__version__', '?')}"}
    for key, photo in (("one_face", photos[0]), ("group", photos[1])):
        rgb = decode_image(photo.data, MAX_PIXELS)

        def theirs(image: np.ndarray = rgb) -> int:
            locations = face_recognition.face_locations(image)
            return len(face_recognition.face_encodings(image, locations))

        def ours(image: np.ndarray = rgb) -> int:
            return len(services.pipeline.scan_image(image, calculator).faces)

        dlib_stats, our_stats = time_alternating(theirs, ours, 1, plan.baseline_iterations)
        results[key] = {
            "face_recognition": asdict(dlib_stats),
            "facekeeper": asdict(our_stats),
            "faces_face_recognition": theirs(),
            "faces_facekeeper": ours(),
            "speedup_p50": dlib_stats.p50_ms / our_stats.p50_ms,
        }
    return results


def machine_facts() -> dict[str, Any]:
    settings = Settings()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "?",
    )
    import onnxruntime  # only for its version

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "inference_workers": settings.inference_workers,
        "onnx_threads": settings.onnx_threads,
        "preload_models": settings.preload_models,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
    }


# --- report ---------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(report: Report) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, figures in report.latency.items():
        ratio = figures["ratio_p50"]
        rows.append({"figure": f"HTTP / in-process p50, {name}", "value": f"{ratio:.2f}", "target": "<= 1.25",
                     "result": verdict(ratio <= TARGET_HTTP_RATIO)})  # fmt: skip
    if "one_face" in report.plugins:
        ratio = report.plugins["one_face"]["ratio_p50"]
        rows.append({"figure": "recognize one-face p50, all plugins / none", "value": f"{ratio:.2f}",
                     "target": "<= 1.3", "result": verdict(ratio <= TARGET_PLUGINS_RATIO)})  # fmt: skip
    scaling = report.throughput["ratio"]
    rows.append({"figure": "recognize req/s, 4 clients / 1 client", "value": f"{scaling:.2f}x", "target": ">= 1.6x",
                 "result": verdict(scaling >= TARGET_SCALING)})  # fmt: skip
    for key in ("one_face", "group"):
        if key in report.baseline:
            speedup = report.baseline[key]["speedup_p50"]
            rows.append({"figure": f"speed-up vs face_recognition, {key}", "value": f"{speedup:.1f}x",
                         "target": ">= 3x", "result": verdict(speedup >= TARGET_SPEEDUP)})  # fmt: skip
    peak = report.memory["peak_rss_mb"]
    rows.append({"figure": "server peak RSS", "value": f"{peak:.0f} MB", "target": "<= 500 MB",
                 "result": verdict(peak <= TARGET_RSS_MB)})  # fmt: skip
    first = report.start_up["lazy"]["detect_s"]
    rows.append({"figure": "start -> first answered detect", "value": f"{first:.2f} s", "target": "<= 3 s",
                 "result": verdict(first <= TARGET_START_S)})  # fmt: skip
    return rows


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def print_report(report: Report) -> None:
    m = report.machine
    print("\n== Machine")
    print(f"  {m['cpu']}; {m['cores']} cores ({m['usable_cores']} usable); load at start {m['load_average_at_start']}")
    print(
        f"  Python {m['python']}, onnxruntime {m['onnxruntime']}; server settings: inference_workers="
        f"{m['inference_workers']}, onnx_threads={m['onnx_threads']}, OMP_NUM_THREADS={m['OMP_NUM_THREADS']}"
    )
    used = m["cores_used_during_run"]
    print(
        f"  during the measurements ({used['seconds']:.0f} s): other processes used {used['others']:.2f} cores, "
        f"the server {used['server']:.2f}, this benchmark {used['benchmark']:.2f}; "
        f"load average at end {m['load_average_at_end']}"
    )
    if used["others"] > 0.2:
        print("  WARNING: the machine was not idle; latency and scaling figures are pessimistic.")
    p = report.photos
    print(f"  photos from {p['source']}: {p['one_face']}; {p['group']}")

    lazy, preload = report.start_up["lazy"], report.start_up.get("preload")
    print("\n== Start-up (Popen of `facekeeper serve` -> first 200 answer)")
    print(f"  GET /api/v1/config: {lazy['config_s']:.2f} s (interpreter, imports, migrations check, bind, app)")
    print(f"  POST detect (one-face photo): {lazy['detect_s']:.2f} s (the above + lazy model loading + one scan)")
    if preload:
        print(
            f"  with FACEKEEPER_PRELOAD_MODELS=true: config {preload['config_s']:.2f} s, "
            f"detect {preload['detect_s']:.2f} s"
        )

    c = report.collection
    print("\n== Collection")
    print(
        f"  {c['examples']} examples enrolled over HTTP ({c['distinct_photos']} distinct photos, {c['subjects']} "
        f"subjects, {c['clients']} clients): {c['seconds']:.1f} s, {c['per_example_ms']:.1f} ms per example"
    )
    for message, count in c["refusals"].items():
        print(f"  refused {count}x: {message}")
    if any(not message.startswith(("28:", "31:")) for message in c["refusals"]):
        print(
            "  NOTE: refusals other than 'no face' / 'more than one face' are server errors (see docs/performance.md)"
        )

    print("\n== Latency, ms (HTTP = client round trip on 127.0.0.1; in-process = same use case, no HTTP)")
    rows = [
        [name, f"{f['http']['p50_ms']:.1f}", f"{f['http']['p90_ms']:.1f}", f"{f['in_process']['p50_ms']:.1f}",
         f"{f['in_process']['p90_ms']:.1f}", f"{f['ratio_p50']:.2f}"]
        for name, f in report.latency.items()
    ]  # fmt: skip
    print_table(["route/photo", "HTTP p50", "HTTP p90", "in-proc p50", "in-proc p90", "HTTP/in-proc"], rows)

    floor = report.http_floor
    print(
        f"  HTTP floor, GET /api/v1/config: kept-alive connection p50 {floor['keep_alive']['p50_ms']:.1f} ms, "
        f"new connection per request p50 {floor['new_connection']['p50_ms']:.1f} ms"
    )
    if floor["keep_alive"]["p50_ms"] > 20.0 and floor["keep_alive"]["p50_ms"] > 4 * floor["new_connection"]["p50_ms"]:
        print(
            "  NOTE: a kept-alive request waits ~40 ms more than a new connection: the server's accepted sockets"
            " lack TCP_NODELAY (Nagle + delayed ACK). See docs/performance.md."
        )

    print(f"\n== Face plugins: recognize with face_plugins={ALL_PLUGINS} vs none (alternating, ms)")
    rows = [
        [key, f"{f['plain']['p50_ms']:.1f}", f"{f['plugins']['p50_ms']:.1f}", f"{f['ratio_p50']:.2f}",
         f"{f['server_cpu_ms_per_request']['plain']:.1f}", f"{f['server_cpu_ms_per_request']['plugins']:.1f}",
         f"{f['cpu_ratio']:.2f}"]
        for key, f in report.plugins.items()
    ]  # fmt: skip
    print_table(["photo", "none p50", "plugins p50", "ratio", "server CPU none", "CPU plugins", "CPU ratio"], rows)
    for key, f in report.plugins.items():
        print(
            f"  {key}, per face (status=true, median ms): "
            + ", ".join(f"{m} {ms:.1f}" for m, ms in f["per_face_ms"].items())
        )

    t = report.throughput
    print("\n== Throughput, recognize one-face photo")
    print(
        f"  1 client: {t['rps_1_client']:.1f} req/s; 4 clients: {t['rps_4_clients']:.1f} req/s; "
        f"ratio {t['ratio']:.2f}x ({t['requests']} requests each)"
    )
    print(
        f"  server busy: {t['server_cores_1_client']:.2f} cores with 1 client, "
        f"{t['server_cores_4_clients']:.2f} with 4; other processes meanwhile: {t['other_processes_cores']:.2f} cores"
    )

    b = report.baseline
    print("\n== face_recognition baseline (same decoded photo; detect + embed every face)")
    if "skipped" in b:
        print(f"  skipped: {b['skipped']}")
    else:
        rows = [
            [key, f"{b[key]['face_recognition']['p50_ms']:.1f}", str(b[key]["faces_face_recognition"]),
             f"{b[key]['facekeeper']['p50_ms']:.1f}", str(b[key]["faces_facekeeper"]), f"{b[key]['speedup_p50']:.1f}x"]
            for key in ("one_face", "group")
        ]  # fmt: skip
        print(f"  {b['library']}")
        print_table(["photo", "face_recognition p50", "faces", "Facekeeper p50", "faces", "speed-up"], rows)

    mem, stop = report.memory, report.shutdown
    print("\n== Memory and shutdown")
    print(
        f"  server peak RSS: {mem['peak_rss_mb']:.0f} MB "
        f"(sampled every 50 ms: {mem['sampled_peak_mb']:.0f} MB; VmHWM: {mem['vm_hwm_mb']} MB)"
    )
    marks = ", ".join(f"{name} {mb:.0f} MB" for name, mb in mem["checkpoints_mb"].items())
    print(f"  RSS: {marks}")
    how = "graceful (Application shutdown complete)" if stop["graceful"] else "NOT graceful"
    print(f"  SIGTERM -> exited after {stop['seconds']:.2f} s, status {stop['exit_code']}, {how}")

    print("\n== Targets (informative)")
    print_table(
        ["figure", "measured", "target", ""],
        [[r["figure"], r["value"], r["target"], r["result"]] for r in report.targets],
    )


# --- main -----------------------------------------------------------------------------------------------


@contextmanager
def running_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Never leaves a server behind, even when a measurement fails."""
    server = start_server(data_dir, env)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            stop_server(server)


def stop_and_check(server: Server) -> dict[str, Any]:
    """Graceful means the lifespan shutdown ran; uvicorn may then re-raise SIGTERM, so -15 is as fine as 0."""
    code, seconds = stop_server(server)
    log = server.log_path.read_text(errors="replace")
    return {"exit_code": code, "seconds": seconds, "graceful": "Application shutdown complete" in log}


def run(plan: Plan, faces_dir: Path) -> Report:
    report = Report(machine=machine_facts())
    one, group, enrol_photos, source = find_photos(faces_dir)
    report.photos = {
        "source": source,
        "one_face": f"{one.name} -> {one.width}x{one.height} JPEG, {len(one.data) // 1024} KB",
        "group": f"{group.name} {group.width}x{group.height}, {len(group.data) // 1024} KB",
    }
    with tempfile.TemporaryDirectory(prefix="facekeeper-bench-") as tmp:
        data_dir = Path(tmp)
        keys = {
            kind: create_service(data_dir, kind, f"bench-{kind}")
            for kind in ("detection", "recognition", "verification")
        }
        cpu = CpuWindow()
        print("starting the server...", flush=True)
        with running_server(data_dir) as server:
            rss = PeakRss(server.process.pid)
            rss.start()
            report.start_up["lazy"] = asdict(wait_for_answers(server, keys["detection"], one))
            checkpoints = {"after first detect": rss.current_mb()}
            print(f"enrolling {plan.collection} examples over HTTP...", flush=True)
            report.collection = enrol_collection(server.url, keys["recognition"], enrol_photos, plan.collection)
            checkpoints["after enrolment"] = rss.current_mb()

            services = build_services(Settings(data_dir=data_dir))
            record = services.api_keys.by_api_key(keys["recognition"])  # current revision: no index reload per call
            assert record is not None
            print("timing HTTP and in-process...", flush=True)
            report.latency = measure_latency(server.url, keys, services, record, one, group, plan)
            report.http_floor = measure_http_floor(server.url, plan)
            checkpoints["after latency"] = rss.current_mb()
            print("timing face plugins...", flush=True)
            report.plugins = measure_plugins(server.url, keys["recognition"], one, group, plan, server.process.pid)
            checkpoints["after plugins"] = rss.current_mb()
            print("timing throughput...", flush=True)
            report.throughput = measure_throughput(server.url, keys["recognition"], one, plan, server.process.pid)
            checkpoints["after throughput"] = rss.current_mb()
            print("timing face_recognition...", flush=True)
            report.baseline = measure_baseline(services, [one, group], plan)

            report.machine["cores_used_during_run"] = cpu.cores_used(server.process.pid)
            report.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            hwm = vm_hwm_bytes(server.process.pid)
            rss.stop()
            report.memory = {
                "peak_rss_mb": max(rss.peak_bytes, hwm or 0) / 2**20,
                "sampled_peak_mb": rss.peak_bytes / 2**20,
                "vm_hwm_mb": None if hwm is None else round(hwm / 2**20),
                "checkpoints_mb": checkpoints,
            }
            report.shutdown = stop_and_check(server)
            services.workers.shutdown()
            services.db.dispose()
        print("restarting with FACEKEEPER_PRELOAD_MODELS=true...", flush=True)
        with running_server(data_dir, {"FACEKEEPER_PRELOAD_MODELS": "true"}) as server:
            report.start_up["preload"] = asdict(wait_for_answers(server, keys["detection"], one))
    report.targets = targets(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few iterations, 100-example collection")
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON object")
    parser.add_argument("--faces", type=Path, default=Path(os.environ.get("FACEKEEPER_FACES", SHARED_FACES)))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = run(Plan.of(args.quick), args.faces)
    print_report(report)
    print(f"\n(total run time {time.perf_counter() - started:.0f} s{', --quick' if args.quick else ''})")
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
