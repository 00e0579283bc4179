"""What hostile requests cost the server (issue 9), measured in one run on this machine.

Figures, each printed as JSON:
1. scan bomb: time to decode (or refuse) a 240 KB progressive JPEG whose scan repeats 20,000 times,
   in-process through `decode_image`;
2. detect latency of a normal photo, alone and while two such bombs are in flight (their clients give up
   after 2 s), against a real `facekeeper serve` with 2 inference workers;
3. the longest wait of `GET /api/v1/config` (no key, no model) while a 9.6 MB body of 2.4 million one-value
   targets is sent to `verification/embeddings/verify`: how long the event loop was held;
4. SIGTERM: time from the signal to the process's exit with four 1.6 MB scan bombs queued, and with 24 slow
   (17 MP) recognitions queued on 2 workers.

Run it against other code by putting that code's `src` first: `PYTHONPATH=/path/to/old/src
.venv/bin/python benchmarks/hostile.py` measures the old code with the same script (the server subprocess
inherits PYTHONPATH). Usage: .venv/bin/python benchmarks/hostile.py [--skip-sigterm]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import cv2
import requests

from facekeeper.errors import FacekeeperError
from facekeeper.inference.images import decode_image

REPO = Path(__file__).resolve().parents[1]
FACE = REPO / "tests" / "fixtures" / "faces" / "obama_1.jpg"
GROUP = REPO / "tests" / "fixtures" / "groups" / "five_faces.jpg"
sys.path.insert(0, str(REPO))
from tests.support.hostile_images import jpeg_scan_bomb  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "facekeeper", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env=_env({}),
    )
    return result.stdout


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEKEEPER_")}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


@contextmanager
def server(data_dir: Path, **extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (data_dir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "facekeeper", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env({"FACEKEEPER_HOST": "127.0.0.1", **extra}),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with suppress(requests.ConnectionError):
                if requests.get(f"{url}/api/v1/config", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def key(data_dir: Path, kind: str) -> str:
    created = json.loads(cli(data_dir, "service", "create", "--type", kind, "--name", f"bench-{kind}", "--json"))
    return str(created["api_key"])


def timed_post(url: str, path: str, api_key: str, data: bytes, name: str, timeout: float = 300) -> float:
    started = time.perf_counter()
    with suppress(requests.exceptions.ReadTimeout):
        requests.post(f"{url}{path}", files={"file": (name, data)}, headers={"x-api-key": api_key}, timeout=timeout)
    return time.perf_counter() - started


def scan_bomb_decode_s(bomb: bytes) -> dict[str, Any]:
    started = time.perf_counter()
    outcome = "decoded"
    try:
        decode_image(bomb, 40_000_000)
    except FacekeeperError as error:
        outcome = error.message
    return {"bomb_bytes": len(bomb), "seconds": round(time.perf_counter() - started, 3), "outcome": outcome}


def detect_while_bombed(data_dir: Path, bomb: bytes) -> dict[str, Any]:
    detection = key(data_dir, "detection")
    face = FACE.read_bytes()
    with server(data_dir, FACEKEEPER_INFERENCE_WORKERS="2") as (url, _):
        timed_post(url, "/api/v1/detection/detect", detection, face, "face.jpg")  # loads the models
        alone = min(timed_post(url, "/api/v1/detection/detect", detection, face, "face.jpg") for _ in range(5))
        with ThreadPoolExecutor(2) as pool:
            for _ in range(2):  # clients that give up after 2 s
                pool.submit(timed_post, url, "/api/v1/detection/detect", detection, bomb, "bomb.jpg", 2.0)
            time.sleep(0.5)
            bombed = timed_post(url, "/api/v1/detection/detect", detection, face, "face.jpg")
    return {"detect_alone_s": round(alone, 3), "detect_with_two_bombs_s": round(bombed, 3)}


def event_loop_block(data_dir: Path) -> dict[str, Any]:
    verification = key(data_dir, "verification")
    body = b'{"source": [1], "targets": [' + b",".join([b"[1]"] * 2_400_000) + b"]}"
    waits: list[float] = []
    done = threading.Event()
    with server(data_dir) as (url, _):

        def poll() -> None:
            while not done.is_set():
                started = time.perf_counter()
                requests.get(f"{url}/api/v1/config", timeout=120)
                waits.append(time.perf_counter() - started)
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.3)
        started = time.perf_counter()
        answer = requests.post(
            f"{url}/api/v1/verification/embeddings/verify",
            data=body,
            headers={"x-api-key": verification, "content-type": "application/json"},
            timeout=600,
        )
        took = time.perf_counter() - started
        done.set()
        poller.join()
    return {
        "body_mb": round(len(body) / 1e6, 1),
        "status": answer.status_code,
        "answer_mb": round(len(answer.content) / 1e6, 2),
        "request_s": round(took, 2),
        "longest_config_wait_s": round(max(waits), 3),
    }


def sigterm_drain(data_dir: Path, image: bytes, count: int) -> dict[str, Any]:
    """Seconds from SIGTERM to exit with `count` recognitions of `image` sent just before."""
    recognition = key(data_dir, "recognition")
    with server(data_dir) as (url, process):
        timed_post(url, "/api/v1/recognition/recognize", recognition, FACE.read_bytes(), "face.jpg")
        with ThreadPoolExecutor(count) as pool:
            for _ in range(count):
                pool.submit(timed_post, url, "/api/v1/recognition/recognize", recognition, image, "big.jpg", 300)
            time.sleep(3.0)
            sent = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=300)
            took = time.perf_counter() - sent
    return {"queued": count, "image_bytes": len(image), "exit_code": code, "seconds_to_exit": round(took, 2)}


def large_photo() -> bytes:
    """five_faces.jpg scaled 8x: ~17 MP, ~1.5 s of real work per recognition on these cores."""
    image = cv2.imread(str(GROUP))
    assert image is not None
    _, encoded = cv2.imencode(".jpg", cv2.resize(image, None, fx=8, fy=8), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return bytes(encoded.tobytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-sigterm", action="store_true", help="skip the (slow) SIGTERM measurement")
    args = parser.parse_args(argv)
    bomb = jpeg_scan_bomb(side=1024, scans=20_000)
    report: dict[str, Any] = {"code": str(Path(decode_image.__code__.co_filename).parents[2])}
    report["scan_bomb_decode"] = scan_bomb_decode_s(bomb)
    print(json.dumps(report), flush=True)
    with tempfile.TemporaryDirectory(prefix="facekeeper-hostile-") as tmp:
        report["detect_while_two_bombs"] = detect_while_bombed(Path(tmp) / "a", bomb)
        print(json.dumps(report["detect_while_two_bombs"]), flush=True)
        report["event_loop_block"] = event_loop_block(Path(tmp) / "b")
        print(json.dumps(report["event_loop_block"]), flush=True)
        if not args.skip_sigterm:
            # Issue 9's case: a 1.6 MB bomb (about 28 s of decoding each) queued four times.
            big_bomb = jpeg_scan_bomb(side=1024, scans=120_000)
            report["sigterm_bombs"] = sigterm_drain(Path(tmp) / "c", big_bomb, 4)
            print(json.dumps(report["sigterm_bombs"]), flush=True)
            report["sigterm_slow_photos"] = sigterm_drain(Path(tmp) / "d", large_photo(), 24)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
