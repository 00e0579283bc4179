"""Changes survive the change log: encode then decode gives the same change (vectors are not logged)."""

from __future__ import annotations

import numpy as np
import pytest

from facekeeper.index.changes import Added, Change, Removed, Renamed, Reset, decode, encode


@pytest.mark.parametrize(
    "change",
    [
        Added("0190a1b2-0000-7000-8000-000000000001", "Tom ß"),
        Removed(("a", "b")),
        Removed(subject="Ann"),
        Renamed("Tom", "Thomas"),
        Reset(),
    ],
)
def test_round_trip(change: Change) -> None:
    assert decode(*encode(change)) == change


def test_added_vector_is_not_logged() -> None:
    kind, payload = encode(Added("id", "Tom", np.ones(128, dtype=np.float32)))
    assert kind == "added"
    assert "vector" not in payload
    assert decode(kind, payload) == Added("id", "Tom")


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown change kind"):
        decode("exploded", "{}")
