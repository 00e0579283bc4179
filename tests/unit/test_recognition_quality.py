"""The measuring code of benchmarks/calibrate.py and benchmarks/accuracy.py on synthetic distances: the fit
meets the calibration targets, the printed table says what was computed, and the ranking metrics agree with
brute force."""

from __future__ import annotations

import re
from itertools import product

import numpy as np
import pytest

from facekeeper.domain import SimilarityCoefficients
from tests.support.recognition_quality import (
    BALANCED_ACCURACY_SLACK,
    MAX_FAR_AT_HALF,
    Pairs,
    calibration_row,
    choose_centre,
    pair_distances,
    print_table,
    rank_one,
    roc_auc,
    tar_at_far,
)

ROW = re.compile(
    r"^(?P<name>\S+)\s+(?P<c0>[\d.]+)\s+(?P<c1>[\d.]+)\s+(?P<far5>[\d.]+)%\s+(?P<frr5>[\d.]+)%\s+"
    r"(?P<far6>[\d.]+)%\s+(?P<frr6>[\d.]+)%\s+(?P<acc>[\d.]+)%\s+(?P<best>[\d.]+)% \((?P<at>[\d.]+)\)$"
)


def synthetic(seed: int, genuine_mean: float = 0.8) -> Pairs:
    rng = np.random.default_rng(seed)
    return Pairs(rng.normal(genuine_mean, 0.12, 3000), rng.normal(1.33, 0.07, 200_000))


def test_the_fit_puts_similarity_half_where_the_targets_hold() -> None:
    sets = {"hard": synthetic(1, genuine_mean=0.9), "easy": synthetic(2, genuine_mean=0.7)}
    row = calibration_row("model", sets, SimilarityCoefficients(1.0, 5.0))
    assert row["far@0.5"] <= MAX_FAR_AT_HALF
    assert row["best_bal_acc"] - row["bal_acc_at_0.5"] <= BALANCED_ACCURACY_SLACK
    assert row["c1"] > 0 and row["far@0.6"] <= row["far@0.5"] and row["frr@0.6"] >= row["frr@0.5"]
    fitted = SimilarityCoefficients(row["c0"], row["c1"])
    assert fitted.similarity(row["c0"]) == pytest.approx(0.5)
    assert (row["hard.far@0.5"], row["hard.frr@0.5"]) == sets["hard"].far_frr(fitted, 0.5)


def test_the_centre_respects_the_false_accept_limit_even_when_the_best_threshold_does_not() -> None:
    rng = np.random.default_rng(3)
    overlapping = Pairs(rng.normal(1.0, 0.15, 5000), rng.normal(1.25, 0.1, 100_000))
    centre = choose_centre(overlapping)
    assert np.mean(overlapping.impostor <= centre) <= MAX_FAR_AT_HALF
    assert overlapping.best_threshold()[0] > centre


def test_the_printed_table_says_what_was_computed(capsys: pytest.CaptureFixture[str]) -> None:
    rows = {
        name: calibration_row(name, {"set": synthetic(seed)}, SimilarityCoefficients(1.0, 5.0))
        for name, seed in (("sface", 4), ("sface+dlib-flip", 5))
    }
    print_table(rows, ["set"])
    lines = capsys.readouterr().out.splitlines()
    parsed = {m["name"]: m for m in map(ROW.match, lines) if m}
    assert set(parsed) == set(rows)
    for name, row in rows.items():
        found = parsed[name]
        assert float(found["c0"]) == pytest.approx(row["c0"], abs=1e-6)
        assert float(found["c1"]) == pytest.approx(row["c1"], abs=1e-4)
        assert float(found["far5"]) == pytest.approx(100 * row["far@0.5"], abs=1e-3)
        assert float(found["frr6"]) == pytest.approx(100 * row["frr@0.6"], abs=1e-3)
        assert float(found["acc"]) == pytest.approx(100 * row["bal_acc_at_0.5"], abs=1e-3)
    assert any(line.strip().startswith("set alone") for line in lines)


def test_ranking_metrics_agree_with_brute_force() -> None:
    rng = np.random.default_rng(6)
    genuine, impostor = rng.normal(1.0, 1.0, 60), rng.normal(0.0, 1.0, 400)
    impostor[:5] = genuine[:5]  # ties count half
    wins = sum((g > i) + 0.5 * (g == i) for g, i in product(genuine, impostor))
    assert roc_auc(genuine, impostor) == pytest.approx(wins / (60 * 400))
    threshold = np.sort(impostor)[::-1][4]  # 1 % of 400 = 4 impostors may pass
    assert tar_at_far(genuine, impostor, 1e-2) == pytest.approx(np.mean(genuine > threshold))
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.7, 0.7]], dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = ["a", "a", "b", "b", "c"]
    assert rank_one(vectors, labels) == 1.0
    genuine_d, impostor_d = pair_distances(vectors, labels)
    assert (len(genuine_d), len(impostor_d)) == (2, 8)
