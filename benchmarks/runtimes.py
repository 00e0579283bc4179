"""Which runtime is fastest for each model on this machine, and what `FACEKEEPER_RUNTIME=auto` gains.

One run, on this machine, printing:

1. the CPU (model, vector extensions, what OpenVINO says it computes natively) and the runtimes' versions;
2. per model, ms per call on real inputs (YuNet on a 640x480 photo, SFace and each plugin on its face) with
   `onnxruntime`, with `openvino` and with `auto` (the runtime and precision it chose), timed in interleaved
   rounds in one process, how close SFace's embeddings are across runtimes on every fixture face, and
   SFace on OpenVINO called by two threads at once with one stream and with one per inference worker;
3. the time to load every model with `onnxruntime`, `openvino` and `auto` (which also measures), and with
   `auto` again once its choices are remembered in the data directory: its start-up cost;
4. one-face recognize through HTTP (a 640x480 photo, a 20-example collection), p50 and server CPU per
   request, on a server with `FACEKEEPER_RUNTIME=onnxruntime` (before) and one with `auto` (after), both
   running, asked in alternation; plain and with every face plugin. Ratios are before / after. Then each
   server's RSS, and the `auto` server started once more, its choices remembered: its log and RSS.

Usage: .venv/bin/python benchmarks/runtimes.py [--rounds N] [--requests N] [--faces DIR]
It starts two servers on free 127.0.0.1 ports with temporary data dirs and stops them; nothing else is
contacted. On a 2-core machine run it when nothing else is busy: it prints the cores others used meanwhile.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import psutil
import requests

from facekeeper.domain import ScanOptions, l2_normalize
from facekeeper.inference.crops import ARCFACE_112, FaceCrops
from facekeeper.inference.images import decode_image
from facekeeper.inference.model_files import SFACE_INT8
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.registry import build_pipeline
from facekeeper.inference.runtimes.openvino_cpu import OpenVinoCpu, core
from facekeeper.inference.session import drop_stale_inputs, fold_constant_weights, free_input_axes
from facekeeper.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO.parent / "shared" / "faces"
FIXTURES = REPO / "tests" / "fixtures"
ONE_FACE = "obama/ageitgey__examples_obama-480p.jpg"
ALL_PLUGINS = "age,gender,mask,pose"
RUNTIMES = ("onnxruntime", "openvino", "auto")
MAX_PIXELS = 10**8
INTERESTING_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_bf16")


# --- the machine ----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line), "?")
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    import onnxruntime

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "flags": [flag for flag in INTERESTING_FLAGS if flag in flags],
        "openvino_native": OpenVinoCpu().precisions(),
        "openvino_capabilities": list(core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
        "onnxruntime": onnxruntime.__version__,
        "openvino": core().get_versions("CPU")["CPU"].build_number,
        "python": platform.python_version(),
    }


# --- inputs ---------------------------------------------------------------------------------------------


def one_face_photo(faces_dir: Path) -> tuple[str, np.ndarray]:
    """A one-face photo of ../shared/faces (or the fixtures) made exactly 640x480, as latency.py does."""
    path = faces_dir / ONE_FACE if (faces_dir / ONE_FACE).is_file() else FIXTURES / "faces" / "obama_1.jpg"
    rgb = decode_image(path.read_bytes(), MAX_PIXELS)
    h, w = rgb.shape[:2]
    scale = max(640 / w, 480 / h)
    resized = cv2.resize(rgb, (max(640, round(w * scale)), max(480, round(h * scale))), interpolation=cv2.INTER_AREA)
    top, left = (resized.shape[0] - 480) // 4, (resized.shape[1] - 640) // 2
    return path.name, np.ascontiguousarray(resized[top : top + 480, left : left + 640])


def jpeg(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def fixture_faces() -> list[Path]:
    return sorted((FIXTURES / "faces").glob("*.jpg"))


# --- per model, in process ------------------------------------------------------------------------------


def pipelines(data_dir: Path) -> tuple[dict[str, FacePipeline], dict[str, float]]:
    """One pipeline per runtime setting, loaded; and the seconds each load took."""
    build = {
        runtime: build_pipeline(Settings(data_dir=data_dir, runtime=runtime, plugins=ALL_PLUGINS))
        for runtime in RUNTIMES
    }
    # Converts the mask networks into the cache once, so no load below pays for that.
    build_pipeline(Settings(data_dir=data_dir, runtime="onnxruntime", plugins=ALL_PLUGINS)).load()
    load_s: dict[str, float] = {}
    # A later start: `auto` finds its choices in <data_dir>/models/runtimes.json and measures nothing.
    again = build_pipeline(Settings(data_dir=data_dir, runtime="auto", plugins=ALL_PLUGINS))
    for runtime, pipeline in [*build.items(), ("auto remembered", again)]:
        started, cpu = time.perf_counter(), time.process_time()
        pipeline.load()
        load_s[runtime] = time.perf_counter() - started
        load_s[f"{runtime} cpu"] = time.process_time() - cpu
    return build, load_s


def model_calls(pipeline: FacePipeline, rgb: np.ndarray) -> dict[str, Callable[[], object]]:
    """Each model's own call on its real input (the crops are cut once, outside the timing)."""
    detections = pipeline.detections(rgb, ScanOptions())[:1]
    crops = FaceCrops(rgb, [d.landmarks for d in detections])
    aligned = crops.get(ARCFACE_112)
    for plugin in pipeline.plugins.values():
        plugin.predict(crops)  # cuts and caches every crop a plugin needs
    calls: dict[str, Callable[[], object]] = {
        f"detector {pipeline.detector.version}": lambda: pipeline.detector.detect(rgb),
        f"calculator {pipeline.embedder.version}": lambda: pipeline.embedder.embed(aligned),
    }
    for slug, plugin in pipeline.plugins.items():
        calls[f"{slug} {plugin.version}"] = lambda plugin=plugin: plugin.predict(crops)  # type: ignore[misc]
    return calls


def time_models(built: dict[str, FacePipeline], rgb: np.ndarray, rounds: int) -> dict[str, dict[str, dict[str, float]]]:
    """Median wall ms and CPU ms per call of every model under every runtime setting, interleaved rounds."""
    calls = {runtime: model_calls(pipeline, rgb) for runtime, pipeline in built.items()}
    models = list(calls[RUNTIMES[0]])
    wall: dict[str, dict[str, list[float]]] = {model: {runtime: [] for runtime in RUNTIMES} for model in models}
    cpu: dict[str, dict[str, list[float]]] = {model: {runtime: [] for runtime in RUNTIMES} for model in models}
    for round_ in range(rounds + 2):
        for model in models:
            for runtime in RUNTIMES:
                started, cpu_started = time.perf_counter(), time.process_time()
                calls[runtime][model]()
                if round_ >= 2:  # two warm-up rounds
                    wall[model][runtime].append((time.perf_counter() - started) * 1000.0)
                    cpu[model][runtime].append((time.process_time() - cpu_started) * 1000.0)
    return {
        kind: {model: {rt: statistics.median(ms) for rt, ms in by_rt.items()} for model, by_rt in samples.items()}
        for kind, samples in (("wall", wall), ("cpu", cpu))
    }


def runtimes_chosen(pipeline: FacePipeline) -> dict[str, str]:
    models = {"detector": pipeline.detector, "calculator": pipeline.embedder, **pipeline.plugins}
    return {key: str(getattr(model, "runtime", "?")) for key, model in models.items()}


def embedding_agreement(built: dict[str, FacePipeline]) -> float:
    """Worst cosine between onnxruntime's and OpenVINO's SFace embedding over every fixture face."""
    worst = 1.0
    for path in fixture_faces():
        rgb = decode_image(path.read_bytes(), MAX_PIXELS)
        detections = built["onnxruntime"].detections(rgb, ScanOptions())[:1]
        aligned = FaceCrops(rgb, [d.landmarks for d in detections]).get(ARCFACE_112)
        a, b = (np.asarray(l2_normalize(built[rt].embedder.embed(aligned)[0])) for rt in ("onnxruntime", "openvino"))
        worst = min(worst, float(a @ b))
    return worst


def streams_check(calls: int = 10) -> dict[int, float]:
    """SFace on OpenVINO with 1 stream and with 2, called by two threads at once: ms per round of two calls.
    One stream makes the two inference workers take turns; one stream per worker lets them run together."""
    model = onnx.load(str(SFACE_INT8.locate()))
    fold_constant_weights(model)
    drop_stale_inputs(model)
    free_input_axes(model, {"data": (0,)})
    serialised = model.SerializeToString()
    face = {"data": np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)}
    per_round = {}
    for streams in (1, 2):
        session = OpenVinoCpu().open(serialised, "f32", 1, streams)

        def work(session: Any = session) -> None:
            for _ in range(calls):
                session.run(face)

        work()  # warm-up, this thread's infer request
        threads = [threading.Thread(target=work) for _ in range(2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        per_round[streams] = (time.perf_counter() - started) * 1000.0 / calls
    return per_round


# --- through HTTP ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(data_dir: Path, *args: str) -> str:
    command = [sys.executable, "-m", "facekeeper", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


@contextmanager
def server(data_dir: Path, runtime: str) -> Iterator[tuple[str, psutil.Process, Path]]:
    """`facekeeper serve` with FACEKEEPER_RUNTIME=runtime and preloaded models; stopped with SIGTERM."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEKEEPER_")}
    env.update({"FACEKEEPER_RUNTIME": runtime, "FACEKEEPER_PRELOAD_MODELS": "true", "PYTHONUNBUFFERED": "1"})
    log_path = data_dir / f"server-{runtime}.log"
    command = [sys.executable, "-m", "facekeeper", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()}")
            try:
                if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server not ready in 180 s")
            time.sleep(0.1)
        yield url, psutil.Process(process.pid), log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def enrol(url: str, key: str, count: int) -> None:
    with requests.Session() as session:
        for index, path in enumerate((fixture_faces() * count)[:count]):
            files = {"file": (path.name, path.read_bytes(), "image/jpeg")}
            response = session.post(
                f"{url}/api/v1/recognition/faces",
                params={"subject": f"{path.stem}-{index}"},
                files=files,
                headers={"x-api-key": key},
                timeout=60,
            )
            response.raise_for_status()


def rss_mb(process: psutil.Process) -> tuple[float, float]:
    """Resident set now and its peak (VmHWM), MB."""
    peak = 0.0
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return process.memory_info().rss / 2**20, peak


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def recognize_http(
    servers: dict[str, tuple[str, psutil.Process, str]], photo: bytes, requests_count: int, plugins: str | None
) -> dict[str, dict[str, float]]:
    """p50 ms and server CPU ms per request of each server, asked in alternation."""
    params = {"face_plugins": plugins} if plugins else {}
    samples: dict[str, list[float]] = {name: [] for name in servers}
    cpu: dict[str, float] = dict.fromkeys(servers, 0.0)
    with requests.Session() as session:
        for index in range(requests_count + 3):
            for name, (url, process, key) in servers.items():
                before_cpu = cpu_seconds(process)
                started = time.perf_counter()
                response = session.post(
                    f"{url}/api/v1/recognition/recognize",
                    params=params,
                    files={"file": ("one.jpg", photo, "image/jpeg")},
                    headers={"x-api-key": key},
                    timeout=60,
                )
                spent = (time.perf_counter() - started) * 1000.0
                response.raise_for_status()
                if index >= 3:  # three warm-up requests each
                    samples[name].append(spent)
                    cpu[name] += cpu_seconds(process) - before_cpu
    return {
        name: {"p50_ms": statistics.median(ms), "cpu_ms": cpu[name] * 1000.0 / len(ms)} for name, ms in samples.items()
    }


# --- report ---------------------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30, help="timed calls per model and runtime")
    parser.add_argument("--requests", type=int, default=40, help="timed recognize requests per server and case")
    parser.add_argument("--faces", type=Path, default=Path(os.environ.get("FACEKEEPER_FACES", SHARED_FACES)))
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON object")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  log: %(message)s")
    logging.getLogger("facekeeper.models").setLevel(logging.INFO)

    facts = machine()
    print(f"CPU: {facts['cpu']}, {facts['cores']} cores; flags: {' '.join(facts['flags']) or 'none of interest'}")
    print(
        f"OpenVINO {facts['openvino']} CPU capabilities: {', '.join(facts['openvino_capabilities'])} "
        f"-> native precisions {', '.join(facts['openvino_native'])}; onnxruntime {facts['onnxruntime']}"
    )
    photo_name, rgb = one_face_photo(args.faces)
    busy_before, started = machine_busy_seconds(), time.perf_counter()
    report: dict[str, Any] = {"machine": facts, "photo": photo_name}

    with tempfile.TemporaryDirectory(prefix="fk-runtimes-") as tmp:
        print("\n1. Loading every model under each setting (auto logs what it measured):")
        built, load_s = pipelines(Path(tmp) / "inprocess")
        chosen = runtimes_chosen(built["auto"])
        per_model = time_models(built, rgb, args.rounds)
        agreement = embedding_agreement(built)
        report.update(load_s=load_s, chosen=chosen, per_model_ms=per_model, sface_worst_cosine=agreement)

        print(
            f"\n2. Per model, ms per call, wall and CPU (median of {args.rounds}; one face of {photo_name} at "
            "640x480; 1 thread; ratios onnxruntime / other, on CPU ms, which other processes cannot stretch):"
        )
        wall_ms, cpu_ms = per_model["wall"], per_model["cpu"]
        rows = []
        for model, key in zip(wall_ms, chosen, strict=True):
            w, c = wall_ms[model], cpu_ms[model]
            rows.append(
                [model.split()[0]]
                + [f"{w[rt]:.1f} / {c[rt]:.1f}" for rt in RUNTIMES]
                + [f"{c['onnxruntime'] / c['openvino']:.2f}x", f"{c['onnxruntime'] / c['auto']:.2f}x", chosen[key]]
            )
        headers = ["model", "onnxruntime", "openvino", "auto", "ort/ov CPU", "ort/auto CPU", "auto chose"]
        table(headers, rows)
        total = {kind: {rt: sum(ms[rt] for ms in per_model[kind].values()) for rt in RUNTIMES} for kind in per_model}
        print(
            "   all models, wall / CPU: "
            + ", ".join(f"{rt} {total['wall'][rt]:.1f} / {total['cpu'][rt]:.1f} ms" for rt in RUNTIMES)
        )
        print(
            f"   SFace embeddings, onnxruntime vs openvino, worst cosine over {len(fixture_faces())} faces: "
            f"{agreement:.6f}"
        )
        rounds_ms = streams_check()
        report["openvino_streams_ms_per_round"] = rounds_ms
        print(
            "   SFace on OpenVINO, two threads calling at once, ms per round of two calls: "
            f"1 stream {rounds_ms[1]:.1f}, 2 streams (one per inference worker) {rounds_ms[2]:.1f}"
        )
        print("\n3. Loading every model (wall s / CPU s of this process; the CPU figure is what load cannot stretch):")
        table(
            ["setting", "wall s", "CPU s", "CPU s more than onnxruntime"],
            [
                [name, f"{load_s[name]:.2f}", f"{load_s[name + ' cpu']:.2f}", f"{load_s[name + ' cpu'] - base:+.2f}"]
                for base in [load_s["onnxruntime cpu"]]
                for name in [*RUNTIMES, "auto remembered"]
            ],
        )
        del built

        print(f"\n4. One-face recognize through HTTP, {args.requests} requests per server and case, in alternation:")
        photo = jpeg(rgb)
        servers_data = {name: Path(tmp) / name for name in ("before", "after")}
        keys = {}
        for name, data_dir in servers_data.items():
            data_dir.mkdir()
            keys[name] = json.loads(
                cli(data_dir, "service", "create", "--type", "recognition", "--name", "bench", "--json")
            )["api_key"]
        with (
            server(servers_data["before"], "onnxruntime") as before,
            server(servers_data["after"], "auto") as after,
        ):
            servers = {"before": (before[0], before[1], keys["before"]), "after": (after[0], after[1], keys["after"])}
            for url, _, key in servers.values():
                enrol(url, key, 20)
            http = {
                "plain": recognize_http(servers, photo, args.requests, None),
                "all plugins": recognize_http(servers, photo, args.requests, ALL_PLUGINS),
            }
            after_log = after[2].read_text(errors="replace")
            rss = {"onnxruntime": rss_mb(before[1]), "auto, first start": rss_mb(after[1])}
        # The auto server again: its choices are now remembered in its data dir, nothing is measured.
        with server(servers_data["after"], "auto") as again:
            started_again = time.perf_counter()
            recognize_http({"again": (again[0], again[1], keys["after"])}, photo, 5, ALL_PLUGINS)
            rss["auto, later start"] = rss_mb(again[1])
            remembered_log = again[2].read_text(errors="replace")
            again_s = time.perf_counter() - started_again
        report["http"], report["rss_mb"] = http, rss
        rows = []
        for case, figures in http.items():
            b, a = figures["before"], figures["after"]
            rows.append(
                [
                    case,
                    f"{b['p50_ms']:.1f}",
                    f"{a['p50_ms']:.1f}",
                    f"{b['p50_ms'] / a['p50_ms']:.2f}x",
                    f"{b['cpu_ms']:.1f}",
                    f"{a['cpu_ms']:.1f}",
                ]
            )
        table(
            ["recognize", "p50 onnxruntime", "p50 auto", "speed-up", "CPU ms/req ort", "CPU ms/req auto"],
            rows,
        )
        print(
            "   server RSS after its requests (every plugin loaded), MB: "
            + ", ".join(f"{name} {mb:.0f} (peak {peak:.0f})" for name, (mb, peak) in rss.items())
        )
        print("   the auto server's log at its first start:")
        for line in after_log.splitlines():
            if " runs on " in line:
                print("    ", line.strip()[:220])
        print(f"   and at a later start ({again_s:.1f} s for 8 requests):")
        for line in remembered_log.splitlines():
            if " runs on " in line:
                print("    ", line.strip()[:220])

    wall = time.perf_counter() - started
    busy = (machine_busy_seconds() - busy_before) / wall
    print(
        f"\nWhole run {wall:.0f} s; the machine's cores were {busy:.2f} busy on average (this run included: "
        f"much above 1 means other processes competed); load average now {os.getloadavg()[0]:.2f}."
    )
    if args.json:
        print(json.dumps(report, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
