"""Recognition over the whole labelled set in ../shared/faces (skipped on a clone without it)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import SHARED_FACES, Api
from tests.golden.conftest import photo

pytestmark = [pytest.mark.models, pytest.mark.slow]


def _identities() -> dict[str, list[Path]]:
    photos: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(SHARED_FACES.glob("*/*")):
        if path.parent.name.startswith("_") or path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        photos[path.parent.name].append(path)
    return photos


@pytest.mark.skipif(not SHARED_FACES.is_dir(), reason="../shared/faces is not present on this checkout")
def test_rank_one_and_open_set_on_shared_faces(real_api: Api) -> None:
    """Enrol the first photo of half the identities; the rest of their photos must come back right and
    above 0.5, the photos of the other half (never enrolled) must stay below 0.5."""
    identities = _identities()
    names = sorted(n for n, p in identities.items() if len(p) >= 2)
    enrolled, unknown = names[::2], names[1::2]
    for name in enrolled:
        response = real_api.client.post(
            "/api/v1/recognition/faces",
            params={"subject": name, "det_prob_threshold": "0.5"},
            files={"file": photo(identities[name][0])},
            headers=real_api.headers(),
        )
        assert response.status_code == 201, (name, response.text)

    def best(path: Path) -> dict | None:
        response = real_api.client.post(
            "/api/v1/recognition/recognize",
            params={"limit": 1},
            files={"file": photo(path)},
            headers=real_api.headers(),
        )
        return response.json()["result"][0]["subjects"][0] if response.status_code == 200 else None

    genuine = [m | {"truth": n} for n in enrolled for p in identities[n][1:] if (m := best(p))]
    impostor = [m for n in unknown for p in identities[n] if (m := best(p))]
    correct = sum(m["subject"] == m["truth"] and m["similarity"] > 0.5 for m in genuine)
    false_accepts = sum(m["similarity"] > 0.5 for m in impostor)
    assert len(genuine) >= 20 and len(impostor) >= 20
    assert correct / len(genuine) >= 0.9, f"{correct}/{len(genuine)} genuine photos recognised"
    assert false_accepts / len(impostor) <= 0.05, f"{false_accepts}/{len(impostor)} strangers accepted"
