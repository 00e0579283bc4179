"""What `auto` measured, remembered in the data directory so later starts skip the measuring.

A decision holds for one model graph (its SHA-256), thread and caller counts, the candidates (runtime,
version, precision) and the CPU: any change among them measures again. Deleting the file (default
`<data_dir>/models/runtimes.json`) measures everything again at the next load. Several server processes
may share the file: updates are read-modify-write under an exclusive lock and replace it atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any


def decision_key(model: bytes, threads: int, callers: int, candidates: Sequence[str]) -> str:
    """`candidates` are "runtime version precision" labels, in order."""
    digest = hashlib.sha256(model).hexdigest()[:24]
    return f"{digest} threads={threads} callers={callers} [{', '.join(candidates)}] on {cpu_identity()}"


@cache
def cpu_identity() -> str:
    """The CPU model and core count: a decision measured on another CPU does not hold here."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model} x{os.cpu_count()}"


def recall(path: Path, key: str) -> dict[str, Any] | None:
    """The decision stored under `key`, or None (no file, unreadable file or no such key)."""
    try:
        stored = json.loads(path.read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return stored if isinstance(stored, dict) and isinstance(stored.get("chosen"), str) else None


def remember(path: Path, key: str, model_name: str, chosen: str, measured_ms: dict[str, float]) -> None:
    """Store a decision; a file that cannot be written only costs measuring again next time."""
    entry = {
        "model": model_name,
        "chosen": chosen,
        "measured_ms": {label: round(ms, 3) for label, ms in measured_ms.items()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with contextlib.suppress(OSError), _locked(path):
        try:
            decisions = json.loads(path.read_text())
            if not isinstance(decisions, dict):
                decisions = {}
        except (OSError, ValueError):
            decisions = {}
        decisions[key] = entry
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(decisions, out, indent=1, sort_keys=True)
        os.replace(temporary, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
