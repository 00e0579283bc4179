"""Changes to a collection as plain data: what the change log stores, NOTIFY announces and every process
replays in order. An index applies them; it never re-reads the database to follow a change.

Subjects are named by their stored spelling (unique per service, ignoring case). An `Added` read back
from the log carries no vector: the replaying process fetches the example's embedding, which never
changes, so the log stays small.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Added:
    image_id: str
    subject: str
    vector: np.ndarray | None = None  # None when read from the log: fetched before applying


@dataclass(frozen=True)
class Removed:
    """Examples gone, named by id, or every example of one subject (deleting a subject of 1,000
    examples then costs one scan of the subject codes instead of 1,000 id lookups). Naming nothing, it is
    `SUBJECTS_ONLY`."""

    image_ids: tuple[str, ...] = ()
    subject: str | None = None


# A change to the subjects alone (one created or deleted without examples): nothing for an index to do,
# but logged so that the revision moves with every change to the list of subjects, which lists are cached
# by. Spelled as an empty removal, which every version of the index applies as a no-op: replicas of the
# previous version still replay it during a rolling update.
SUBJECTS_ONLY = Removed()


@dataclass(frozen=True)
class Renamed:
    """`old_subject` is now called `new_subject`; when that name already had examples, they merge."""

    old_subject: str
    new_subject: str


@dataclass(frozen=True)
class Reset:
    """The collection changed in a way only a full load describes (every subject deleted, a bulk import,
    a switch of embedder)."""


Change = Added | Removed | Renamed | Reset


def encode(change: Change) -> tuple[str, str]:
    """(kind, JSON payload) for the change log."""
    payload: dict[str, Any]
    if isinstance(change, Added):
        kind, payload = "added", {"image_id": change.image_id, "subject": change.subject}
    elif isinstance(change, Removed):
        kind, payload = "removed", {"image_ids": list(change.image_ids), "subject": change.subject}
    elif isinstance(change, Renamed):
        kind, payload = "renamed", {"old": change.old_subject, "new": change.new_subject}
    else:
        kind, payload = "reset", {}
    return kind, json.dumps(payload, separators=(",", ":"))


def decode(kind: str, payload: str) -> Change:
    data = json.loads(payload)
    if kind == "added":
        return Added(data["image_id"], data["subject"])
    if kind == "removed":
        return Removed(tuple(data.get("image_ids") or ()), data.get("subject"))
    if kind == "renamed":
        return Renamed(data["old"], data["new"])
    if kind == "reset":
        return Reset()
    raise ValueError(f"unknown change kind {kind!r}")
