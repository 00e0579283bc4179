"""`facekeeper serve` plumbing that needs no server: one BLAS thread, settings handed to workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facekeeper.cli.serve import _export_settings
from facekeeper.settings import Settings


def test_blas_and_openmp_are_limited_to_one_thread() -> None:
    script = (
        "import json, numpy, threadpoolctl\n"
        "from facekeeper.cli.serve import limit_blas_threads\n"
        "limit_blas_threads()\n"
        "print(json.dumps([(p['user_api'], p['num_threads']) for p in threadpoolctl.threadpool_info()]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    pools = json.loads(result.stdout)
    assert ["blas", 1] in pools
    assert all(threads == 1 for api, threads in pools if api in ("blas", "openmp"))


def test_workers_get_the_parents_settings_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("FACEKEEPER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FACEKEEPER_DATABASE_URL", "sqlite:///stale.db")  # unset in the parent's settings
    parent = Settings(
        data_dir=tmp_path,
        port=0,
        workers=3,
        det_prob_threshold=0.7,
        save_images_to_db=False,
        plugins="age,gender",
        database_url=None,
    )
    _export_settings(parent)
    try:
        assert Settings() == parent
    finally:
        for name in list(os.environ):
            if name.startswith("FACEKEEPER_"):
                os.environ.pop(name)
