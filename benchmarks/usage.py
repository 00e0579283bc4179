"""What counting face API requests per service per day costs (docs/admin.md, "Request counts per day").

Prints, from one run on this machine:
1. `UsageCounter.count` alone: microseconds per call (1,000,000 calls over 100 services);
2. one flush of counters for 1,000 services into the database (SQLite in a temporary directory);
3. recognize p50 through the whole app (real models, a real photo, 8 examples in the collection), requests
   with the counter and with it replaced by a no-op in a shuffled order, and the ratio of the two p50s.

Usage: .venv/bin/python benchmarks/usage.py [--requests N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from facekeeper.app import create_app
from facekeeper.domain import ServiceType
from facekeeper.services.usage import UsageCounter
from facekeeper.settings import Settings
from facekeeper.storage.db import Database

FACES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "faces"


def count_cost(calls: int = 1_000_000) -> float:
    """Microseconds per `count` call, the whole loop divided by the calls."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/usage.db")
        counter = UsageCounter(db)
        services = [str(uuid.uuid4()) for _ in range(100)]
        started = time.perf_counter()
        for n in range(calls):
            counter.count(services[n % 100])
        elapsed = time.perf_counter() - started
        db.dispose()
    return elapsed / calls * 1e6


def flush_cost(service_count: int = 1000) -> float:
    """Milliseconds to write the counters of `service_count` services (one upsert)."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        db = Database(settings.resolved_database_url)
        db.upgrade()
        from facekeeper.services.api_keys import ApiKeyService

        keys = ApiKeyService(db)
        ids = [keys.create(f"s{n}", ServiceType.DETECTION).id for n in range(service_count)]
        counter = UsageCounter(db)
        for service_id in ids:
            counter.count(service_id)
        started = time.perf_counter()
        counter.flush()
        elapsed = time.perf_counter() - started
        db.dispose()
    return elapsed * 1000


def recognize_p50s(requests: int, control: bool = False) -> tuple[float, float]:
    """(p50 with counting, p50 without), ms, over `requests` recognize calls each. `control`: both variants
    without counting (an A/A run: how far apart two p50s of the same thing fall on this machine now).
    One inference worker: with two, requests alternate between them and a bimodal latency makes the p50
    jump by the gap between the workers."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), preload_models=True, inference_workers=1)
        with TestClient(create_app(settings)) as client:
            services = client.app.state.services  # type: ignore[attr-defined]
            key = services.api_keys.create("bench", ServiceType.RECOGNITION).api_key
            headers = {"x-api-key": key}
            for path in sorted(FACES.glob("*_1.jpg")) + sorted(FACES.glob("*_2.jpg"))[:4]:
                client.post(
                    "/api/v1/recognition/faces",
                    params={"subject": path.stem.rsplit("_", 1)[0]},
                    files={"file": (path.name, path.read_bytes(), "image/jpeg")},
                    headers=headers,
                )
            photo = (FACES / "obama_2.jpg").read_bytes()
            no_op: Callable[[str], None] = lambda _service_id: None  # noqa: E731
            real_count = no_op if control else services.usage.count
            timings: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(5):  # warm-up
                client.post("/api/v1/recognition/recognize", files={"file": ("q.jpg", photo)}, headers=headers)
            # Both variants interleaved in a shuffled order: a busy machine's drift weighs on both alike, and
            # neither variant always lands on the same one of the (alternating) inference workers.
            order = [True, False] * requests
            random.Random(12).shuffle(order)
            for counting in order:
                services.usage.count = real_count if counting else no_op
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/recognition/recognize", files={"file": ("q.jpg", photo)}, headers=headers
                )
                timings[counting].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            services.usage.count = real_count
    return statistics.median(timings[True]), statistics.median(timings[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="recognize requests per variant")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {"count_us_per_call": round(count_cost(), 3)}
    figures["flush_ms_1000_services"] = round(flush_cost(), 2)
    with_counting, without = recognize_p50s(args.requests)
    control_a, control_b = recognize_p50s(args.requests, control=True)
    figures |= {
        "control_p50_ratio_no_counting_either_way": round(control_a / control_b, 4),
        "recognize_p50_ms_counting": round(with_counting, 2),
        "recognize_p50_ms_not_counting": round(without, 2),
        "recognize_p50_ratio": round(with_counting / without, 4),
        "requests_per_variant": args.requests,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"UsageCounter.count: {figures['count_us_per_call']} us per call")
    print(f"flush of 1,000 services' counters (SQLite): {figures['flush_ms_1000_services']} ms")
    print(
        f"recognize p50 over {args.requests} requests each: counting {with_counting:.2f} ms, "
        f"not counting {without:.2f} ms, ratio {figures['recognize_p50_ratio']}"
    )
    print(f"control (no counting either way, same method): ratio {figures['control_p50_ratio_no_counting_either_way']}")


if __name__ == "__main__":
    main()
