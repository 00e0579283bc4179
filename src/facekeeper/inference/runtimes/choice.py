"""Which runtime and precision a model runs on: the one asked for, or the fastest measured at load time.

`auto` opens the model on every runtime and precision this CPU runs natively, drops any whose outputs drift
from the f32 reference (cosine < `MIN_AGREEMENT` on a sample input, so a bf16 that loses accuracy is never
chosen), measures the CPU time each of the rest needs per call on that sample, in interleaved rounds, and
keeps the cheapest (with one thread per inference, the fastest). A candidate must beat the first one
(onnxruntime) by `MARGIN` to replace it: the fallback wins ties. The loser sessions are dropped at once.
Every decision is logged with its measurements, and remembered in the data directory (`decisions.py`), so
that later starts open only the chosen runtime.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from facekeeper.inference.runtimes import AUTO, Runtime, RuntimeOptions, RuntimeSession, describe
from facekeeper.inference.runtimes.decisions import decision_key, recall, remember
from facekeeper.inference.runtimes.onnxruntime_cpu import OnnxRuntimeCpu
from facekeeper.inference.runtimes.openvino_cpu import OpenVinoCpu

logger = logging.getLogger("facekeeper.models")

# Outputs of another precision or runtime must agree with the f32 reference at least this well.
MIN_AGREEMENT = 0.999
# A candidate must be this much faster than the fallback to be chosen (timing noise is a few percent).
MARGIN = 0.05
# Timing rounds per model: at least MIN_ROUNDS, then more until MAX_ROUNDS or BUDGET_S seconds.
MIN_ROUNDS, MAX_ROUNDS, BUDGET_S = 3, 7, 0.3


def known_runtimes() -> list[Runtime]:
    """Every runtime, the fallback (onnxruntime) first; a new runtime is one module and one entry here."""
    return [OnnxRuntimeCpu(), OpenVinoCpu()]


@dataclass(frozen=True)
class Candidate:
    runtime: Runtime
    precision: str

    @property
    def label(self) -> str:
        return f"{self.runtime.name} {self.precision}"


@dataclass
class Opened:
    """The session a model runs on, and the milliseconds each candidate took when measured (else empty)."""

    session: RuntimeSession
    measured_ms: dict[str, float] = field(default_factory=dict)
    remembered: bool = False  # the measurements are from an earlier start (`RuntimeOptions.decisions`)


def candidates(options: RuntimeOptions, runtimes: Sequence[Runtime] | None = None) -> list[Candidate]:
    """What `options.choice` allows on this machine, the fallback first; never empty."""
    everything = list(runtimes) if runtimes is not None else known_runtimes()
    fallback = Candidate(everything[0], "f32")
    chosen = [
        Candidate(runtime, precision)
        for runtime in everything
        if options.choice in (AUTO, runtime.name)
        for precision in runtime.precisions()
        if precision == "f32" or not options.full_precision_only
    ]
    if not chosen:
        logger.warning("runtime %s is not installed here: models run on %s", options.choice, fallback.label)
        return [fallback]
    return chosen


def open_session(
    model: bytes,
    name: str,
    threads: int,
    options: RuntimeOptions,
    sample: Mapping[str, np.ndarray],
    runtimes: Sequence[Runtime] | None = None,
) -> Opened:
    """`model` (serialised ONNX) opened on the runtime `options` select; `name` is for the logs."""
    everything = list(runtimes) if runtimes is not None else known_runtimes()
    wanted = candidates(options, everything)
    key = None
    if len(wanted) > 1 and options.decisions is not None:
        versions = [f"{c.runtime.name} {c.runtime.version()} {c.precision}" for c in wanted]
        key = decision_key(model, threads, options.callers, versions)
        remembered = _remembered(model, name, threads, options, wanted, key)
        if remembered is not None:
            return remembered
    opened: list[tuple[Candidate, RuntimeSession]] = []
    for candidate in wanted:
        try:
            opened.append((candidate, candidate.runtime.open(model, candidate.precision, threads, options.callers)))
        except Exception as error:  # a runtime that cannot compile this graph is skipped, never fatal
            logger.warning("%s: %s cannot run it (%s)", name, candidate.label, error)
    if not opened:
        fallback = Candidate(everything[0], "f32")
        logger.warning("%s: falling back to %s", name, fallback.label)
        opened.append((fallback, fallback.runtime.open(model, "f32", threads, options.callers)))
    if len(opened) == 1:
        session = opened[0][1]
        logger.info("%s runs on %s", name, describe(session))
        if key is not None and options.decisions is not None:
            remember(options.decisions, key, name, opened[0][0].label, {})
        return Opened(session)
    faithful = _faithful(opened, sample, name)
    measured = _measure([session for _, session in faithful], sample)
    best = int(np.argmin(measured))
    if measured[best] > measured[0] * (1.0 - MARGIN):
        best = 0
    chosen, session = faithful[best]
    timings = {candidate.label: ms for (candidate, _), ms in zip(faithful, measured, strict=True)}
    logger.info("%s runs on %s (measured CPU per call: %s)", name, describe(session), _listed(timings))
    if key is not None and options.decisions is not None:
        remember(options.decisions, key, name, chosen.label, timings)
    return Opened(session, timings)


def _remembered(
    model: bytes, name: str, threads: int, options: RuntimeOptions, wanted: list[Candidate], key: str
) -> Opened | None:
    """The session of a choice measured at an earlier start, or None to measure now."""
    assert options.decisions is not None
    decision = recall(options.decisions, key)
    match = next((c for c in wanted if decision and c.label == decision["chosen"]), None)
    if decision is None or match is None:
        return None
    try:
        session = match.runtime.open(model, match.precision, threads, options.callers)
    except Exception as error:
        logger.warning("%s: %s cannot run it any more (%s): measuring again", name, match.label, error)
        return None
    timings = {str(label): float(ms) for label, ms in dict(decision.get("measured_ms") or {}).items()}
    logger.info(
        "%s runs on %s (measured at %s, CPU per call: %s; delete %s to measure again)",
        name,
        describe(session),
        decision.get("measured_at", "an earlier start"),
        _listed(timings) or "the only one that ran",
        options.decisions,
    )
    return Opened(session, timings, remembered=True)


def _listed(timings: Mapping[str, float]) -> str:
    return ", ".join(f"{label} {ms:.1f} ms" for label, ms in timings.items())


def agreement(reference: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> float:
    """The worst cosine similarity between corresponding outputs, each flattened."""
    worst = 1.0
    for ref, out in zip(reference, outputs, strict=True):
        a, b = np.asarray(ref, dtype=np.float64).ravel(), np.asarray(out, dtype=np.float64).ravel()
        norms = float(np.linalg.norm(a) * np.linalg.norm(b))
        cosine = float(a @ b) / norms if norms > 0 else float(np.array_equal(a, b))
        worst = min(worst, cosine)
    return worst


def _faithful(
    opened: list[tuple[Candidate, RuntimeSession]], sample: Mapping[str, np.ndarray], name: str
) -> list[tuple[Candidate, RuntimeSession]]:
    """The first (reference) session and every other whose outputs agree with it on `sample`."""
    reference = opened[0][1].run(sample)
    kept = [opened[0]]
    for candidate, session in opened[1:]:
        score = agreement(reference, session.run(sample))
        if score >= MIN_AGREEMENT:
            kept.append((candidate, session))
        else:
            logger.warning("%s: %s dropped, its outputs drift (cosine %.5f)", name, candidate.label, score)
    return kept


def _measure(sessions: list[RuntimeSession], sample: Mapping[str, np.ndarray]) -> list[float]:
    """Median CPU ms per call of each session (all of this process's threads: a runtime computing in its own
    threads, or spinning, is charged for it), timed in interleaved rounds after two more warm-up calls.

    CPU time, not wall time: on a shared machine other processes stretch wall times at random, while the
    CPU a call needs is what one inference thread per worker turns into latency.
    """
    for session in sessions:
        for _ in range(2):  # a runtime may initialise lazily on its first calls (OpenVINO: per stream)
            session.run(sample)
    times: list[list[float]] = [[] for _ in sessions]
    started = time.perf_counter()
    for round_ in range(MAX_ROUNDS):
        for session, spent in zip(sessions, times, strict=True):
            begin = time.process_time()
            session.run(sample)
            spent.append((time.process_time() - begin) * 1000.0)
        if round_ + 1 >= MIN_ROUNDS and time.perf_counter() - started > BUDGET_S:
            break
    return [statistics.median(spent) for spent in times]
