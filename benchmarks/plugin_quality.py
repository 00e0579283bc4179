"""Face plugin quality on labelled photos: gender accuracy, mask false positives and hits on drawn masks, pose
flip errors, and milliseconds per plugin.

Usage: .venv/bin/python benchmarks/plugin_quality.py [FACES_DIR]

The measuring functions live in tests/support/plugin_quality.py (the golden tests bound the same figures);
`benchmarks/accuracy.py` can import them from there for its gender and mask rows.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.plugin_quality import (  # noqa: E402
    MAX_PIXELS,
    gender_accuracy,
    mask_rates,
    plugin_ms,
    plugin_pipeline,
    pose_flip_errors,
)

from facekeeper.inference.images import decode_image  # noqa: E402


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else os.environ.get("FACEKEEPER_FACES", "../shared/faces"))
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        pipeline = plugin_pipeline(Path(data_dir))
        print(f"models loaded (mask models converted) in {time.perf_counter() - started:.1f} s")
        gender = gender_accuracy(pipeline, root)
        print(f"gender accuracy: {gender.percent:.1f} % ({gender.hits}/{gender.total}); wrong: {list(gender.misses)}")
        masks = mask_rates(pipeline, root)
        print(
            f"mask false positives on unmasked photos: {masks.false_positives.percent:.1f} % "
            f"({masks.false_positives.hits}/{masks.false_positives.total}); {list(masks.false_positives.misses)}"
        )
        print(
            f"mask found on drawn masks: {masks.drawn_hits.percent:.1f} % "
            f"({masks.drawn_hits.hits}/{masks.drawn_hits.total}); missed: {list(masks.drawn_hits.misses)}"
        )
        flips = pose_flip_errors(pipeline, root)
        print(
            f"pose on mirrored photos ({flips.count}): mean |yaw + yaw'| {flips.yaw:.2f} deg, "
            f"|pitch - pitch'| {flips.pitch:.2f} deg, |roll + roll'| {flips.roll:.2f} deg; "
            f"yaw sign flips on {flips.sign_agreement * 100:.0f} % of turned faces"
        )
        portrait = decode_image((REPO / "tests/fixtures/faces/obama_1.jpg").read_bytes(), MAX_PIXELS)
        timings = plugin_ms(pipeline, portrait)
        print("ms per face, one-face photo: " + ", ".join(f"{key} {ms:.1f}" for key, ms in timings.items()))


if __name__ == "__main__":
    main(sys.argv)
