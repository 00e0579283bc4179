"""Prometheus metrics of one app: HTTP requests, inference per model, collections and the change log.

Each app has its own registry (two apps in one process never share counters). With `serve --workers N`
every worker writes its counters and histograms to files in PROMETHEUS_MULTIPROC_DIR and `/metrics`
adds them up across workers; the gauges are computed when scraped, from the database and from the
collections of the worker that answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from facekeeper.domain import FaceScan

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOAD_BUCKETS_S = (0.001, 0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LAG_BUCKETS = (0, 1, 2, 5, 10, 100, 1000, 10_000)


@dataclass(frozen=True)
class CollectionState:
    """One recognition service as `/metrics` reports it."""

    service: str
    examples: int  # in the database
    revision: int  # the change log's head
    position: int | None  # of this process's copy; None when not held
    memory_bytes: int


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "facekeeper_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "facekeeper_http_request_duration_seconds",
            "Time from request to the end of the answer, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.inference = Histogram(
            "facekeeper_inference_seconds",
            "Model time per image (all faces of one image), by plugin slug and model version.",
            ["model", "version"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.index_loads = Counter(
            "facekeeper_index_loads",
            "Collections brought up to date: full loads from the database, or incremental replays of the log.",
            ["kind"],
            registry=self.registry,
        )
        self.index_load_seconds = Histogram(
            "facekeeper_index_load_duration_seconds",
            "Time of each full load or incremental replay.",
            ["kind"],
            buckets=LOAD_BUCKETS_S,
            registry=self.registry,
        )
        self.catch_up_entries = Histogram(
            "facekeeper_change_log_catch_up_entries",
            "Change-log entries a collection was behind when a request or notification caught it up.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self._gauges: _CollectionGauges | None = None
        for kind in ("full", "incremental"):  # present from the start, so a rate of zero is visible
            self.index_loads.labels(kind)

    # --- what the services report -------------------------------------------------------------------

    def loaded(self, full: bool, seconds: float) -> None:
        kind = "full" if full else "incremental"
        self.index_loads.labels(kind).inc()
        self.index_load_seconds.labels(kind).observe(seconds)

    def lag(self, service: str, entries: int) -> None:
        self.catch_up_entries.observe(entries)

    def observe_scan(self, scan: FaceScan) -> None:
        totals: dict[str, float] = {}
        for face in scan.faces:
            for model, ms in face.execution_time_ms.items():
                totals[model] = totals.get(model, 0.0) + ms
        for model, ms in totals.items():
            self.inference.labels(model, scan.plugins_versions.get(model, "")).observe(ms / 1000.0)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    # --- exposition -----------------------------------------------------------------------------------

    def report_collections(self, states: Callable[[], list[CollectionState]]) -> None:
        """Where the collection gauges come from at scrape time."""
        self._gauges = _CollectionGauges(states)
        self.registry.register(self._gauges)

    def render(self) -> bytes:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # every worker's counters, from their files
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        if self._gauges is not None:
            registry.register(self._gauges)
        return generate_latest(registry)


class _CollectionGauges(Collector):
    def __init__(self, states: Callable[[], list[CollectionState]]) -> None:
        self._states = states

    def collect(self) -> Iterator[Metric]:
        examples = GaugeMetricFamily(
            "facekeeper_examples", "Examples stored per recognition service.", labels=["service"]
        )
        lag = GaugeMetricFamily(
            "facekeeper_change_log_lag_entries",
            "Change-log entries this process's copy of a collection is behind the database (held ones only).",
            labels=["service"],
        )
        memory = GaugeMetricFamily(
            "facekeeper_index_memory_bytes", "Memory of each collection held by this process.", labels=["service"]
        )
        for state in self._states():
            examples.add_metric([state.service], state.examples)
            if state.position is not None:
                lag.add_metric([state.service], max(0, state.revision - state.position))
                memory.add_metric([state.service], state.memory_bytes)
        yield from (examples, lag, memory)
