"""Choosing a runtime per model (`FACEKEEPER_RUNTIME`): the choice rules on fake runtimes, then the real
runtimes on real faces: embeddings stay comparable across runtimes and OpenVINO sends and writes nothing."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from facekeeper.domain import ScanOptions, l2_normalize
from facekeeper.inference.base import Embedder, runtime_of
from facekeeper.inference.crops import ARCFACE_112, FaceCrops
from facekeeper.inference.images import decode_image
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.inference.registry import build_pipeline
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.runtimes.choice import agreement, candidates, open_session
from facekeeper.inference.runtimes.onnxruntime_cpu import onnxruntime
from facekeeper.inference.session import OnnxSession
from facekeeper.settings import Settings

from .fakes import FIXTURES, FakeDetector, FakeEmbedder, FakePlugin, StubSession, box
from .test_session import block_quantised_model

SAMPLE = {"x": np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(1, 12)}


class FakeSession:
    def __init__(self, runtime: str, precision: str, delay_s: float, sign: float) -> None:
        self.runtime, self.precision, self.version = runtime, precision, "1.0"
        self.input_names = ["x"]
        self.delay_s, self.sign = delay_s, sign

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Busy for `delay_s` of CPU time, which is what the choice measures."""
        until = time.process_time() + self.delay_s
        while time.process_time() < until:
            pass
        return [inputs["x"] * self.sign]


class FakeRuntime:
    """Computes for `delay_s` per call; `drift` precisions answer the negated output (cosine -1)."""

    def __init__(
        self,
        name: str,
        precisions: list[str],
        delay_s: float = 0.0,
        *,
        drift: frozenset[str] = frozenset(),
        broken: bool = False,
    ) -> None:
        self.name, self._precisions, self.delay_s = name, precisions, delay_s
        self.drift, self.broken = drift, broken
        self.opened: list[tuple[str, int, int]] = []

    def version(self) -> str:
        return "1.0"

    def precisions(self) -> list[str]:
        return list(self._precisions)

    def open(self, model: bytes, precision: str, threads: int, callers: int) -> FakeSession:
        if self.broken:
            raise RuntimeError("unsupported operator")
        self.opened.append((precision, threads, callers))
        return FakeSession(self.name, precision, self.delay_s, -1.0 if precision in self.drift else 1.0)


def test_a_fixed_choice_opens_only_that_runtime_and_measures_nothing() -> None:
    ort, ov = FakeRuntime("onnxruntime", ["f32"]), FakeRuntime("openvino", ["f32", "bf16"])
    opened = open_session(b"", "m", 1, RuntimeOptions("onnxruntime", callers=2), SAMPLE, [ort, ov])
    assert (opened.session.runtime, opened.measured_ms) == ("onnxruntime", {})
    assert ort.opened == [("f32", 1, 2)] and ov.opened == []


def test_openvino_choice_measures_its_precisions_only() -> None:
    ort, ov = FakeRuntime("onnxruntime", ["f32"]), FakeRuntime("openvino", ["f32", "bf16"])
    assert [c.label for c in candidates(RuntimeOptions("openvino"), [ort, ov])] == ["openvino f32", "openvino bf16"]
    assert [c.label for c in candidates(RuntimeOptions("auto"), [ort, ov])] == [
        "onnxruntime f32",
        "openvino f32",
        "openvino bf16",
    ]


def test_full_precision_only_never_offers_bf16_or_f16() -> None:
    ort, ov = FakeRuntime("onnxruntime", ["f32"]), FakeRuntime("openvino", ["f32", "bf16", "f16"])
    options = RuntimeOptions("auto", full_precision_only=True)
    assert [c.label for c in candidates(options, [ort, ov])] == ["onnxruntime f32", "openvino f32"]
    opened = open_session(b"", "m", 1, RuntimeOptions("openvino", full_precision_only=True), SAMPLE, [ort, ov])
    assert (opened.session.runtime, opened.session.precision) == ("openvino", "f32")
    assert RuntimeOptions.of(Settings(runtime_precision="f32")).full_precision_only
    assert not RuntimeOptions.of(Settings()).full_precision_only


def test_auto_keeps_the_fastest_and_reports_every_measurement(caplog: pytest.LogCaptureFixture) -> None:
    ort, ov = FakeRuntime("onnxruntime", ["f32"], 0.02), FakeRuntime("openvino", ["f32"], 0.002)
    with caplog.at_level(logging.INFO, logger="facekeeper.models"):
        opened = open_session(b"", "sface.onnx", 1, RuntimeOptions("auto"), SAMPLE, [ort, ov])
    assert opened.session.runtime == "openvino"
    assert set(opened.measured_ms) == {"onnxruntime f32", "openvino f32"}
    assert opened.measured_ms["openvino f32"] < opened.measured_ms["onnxruntime f32"]
    assert "sface.onnx runs on openvino 1.0 f32" in caplog.text


def test_the_fallback_wins_a_tie() -> None:
    ort, ov = FakeRuntime("onnxruntime", ["f32"], 0.005), FakeRuntime("openvino", ["f32"], 0.005)
    assert open_session(b"", "m", 1, RuntimeOptions("auto"), SAMPLE, [ort, ov]).session.runtime == "onnxruntime"


def test_a_precision_whose_outputs_drift_is_never_chosen(caplog: pytest.LogCaptureFixture) -> None:
    ort = FakeRuntime("onnxruntime", ["f32"], 0.02)
    ov = FakeRuntime("openvino", ["f32", "bf16"], 0.002, drift=frozenset({"bf16"}))
    opened = open_session(b"", "m", 1, RuntimeOptions("auto"), SAMPLE, [ort, ov])
    assert (opened.session.runtime, opened.session.precision) == ("openvino", "f32")
    assert "openvino bf16 dropped" in caplog.text and "openvino bf16" not in opened.measured_ms


def test_a_missing_or_failing_runtime_falls_back_to_onnxruntime(caplog: pytest.LogCaptureFixture) -> None:
    ort, missing = FakeRuntime("onnxruntime", ["f32"]), FakeRuntime("openvino", [])
    assert open_session(b"", "m", 1, RuntimeOptions("openvino"), SAMPLE, [ort, missing]).session.runtime == (
        "onnxruntime"
    )
    assert "openvino is not installed" in caplog.text
    broken = FakeRuntime("openvino", ["f32"], broken=True)
    assert open_session(b"", "m", 1, RuntimeOptions("openvino"), SAMPLE, [ort, broken]).session.runtime == (
        "onnxruntime"
    )
    assert "cannot run it (unsupported operator)" in caplog.text


def test_auto_remembers_its_choice_and_later_opens_only_that(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    decisions = tmp_path / "models" / "runtimes.json"
    options = RuntimeOptions("auto", decisions=decisions)
    ort, ov = FakeRuntime("onnxruntime", ["f32"], 0.02), FakeRuntime("openvino", ["f32"], 0.002)
    first = open_session(b"graph", "m", 1, options, SAMPLE, [ort, ov])
    assert (first.session.runtime, first.remembered) == ("openvino", False)
    stored = json.loads(decisions.read_text())
    assert [entry["chosen"] for entry in stored.values()] == ["openvino f32"]

    # The next start opens the remembered runtime only, even if a measurement now would differ.
    ort, ov = FakeRuntime("onnxruntime", ["f32"], 0.0), FakeRuntime("openvino", ["f32"], 0.02)
    with caplog.at_level(logging.INFO, logger="facekeeper.models"):
        again = open_session(b"graph", "m", 1, options, SAMPLE, [ort, ov])
    assert (again.session.runtime, again.remembered, ort.opened) == ("openvino", True, [])
    assert again.measured_ms == pytest.approx(first.measured_ms, abs=1e-3)
    assert f"delete {decisions} to measure again" in caplog.text

    # Another graph, thread count, caller count or runtime version is measured anew.
    for model, threads, callers in ((b"other", 1, 1), (b"graph", 2, 1), (b"graph", 1, 2)):
        fresh = open_session(model, "m", threads, RuntimeOptions("auto", callers, decisions), SAMPLE, [ort, ov])
        assert (fresh.session.runtime, fresh.remembered) == ("onnxruntime", False)
    assert len(json.loads(decisions.read_text())) == 4


def test_an_unreadable_decisions_file_means_measuring(tmp_path: Path) -> None:
    decisions = tmp_path / "runtimes.json"
    decisions.write_text("{not json")
    ort, ov = FakeRuntime("onnxruntime", ["f32"], 0.02), FakeRuntime("openvino", ["f32"], 0.002)
    opened = open_session(b"g", "m", 1, RuntimeOptions("auto", decisions=decisions), SAMPLE, [ort, ov])
    assert (opened.session.runtime, opened.remembered) == ("openvino", False)
    assert len(json.loads(decisions.read_text())) == 1


def test_agreement_is_the_worst_output_cosine() -> None:
    a = np.array([1.0, 2.0, 3.0])
    assert agreement([a, a], [a * 2, a]) == pytest.approx(1.0)
    assert agreement([a, a], [a, -a]) == pytest.approx(-1.0)


def test_the_setting_reads_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().runtime == "auto"
    monkeypatch.setenv("FACEKEEPER_RUNTIME", "openvino")
    settings = Settings(inference_workers=3)
    assert RuntimeOptions.of(settings) == RuntimeOptions("openvino", 3, settings.data_dir / "models" / "runtimes.json")
    monkeypatch.setenv("FACEKEEPER_RUNTIME", "tensorflow")
    with pytest.raises(ValidationError):
        Settings()


class ReportingDetector(FakeDetector):
    runtime = "openvino 9.9.9 f32"


class ReportingPlugin(FakePlugin):
    runtime = "onnxruntime 1.0.0 f32"


def test_status_versions_show_the_runtime_of_each_model_that_ran(blank_rgb: np.ndarray) -> None:
    """`<key>.runtime` beside the version of each model that ran and says what it runs on; the versions
    themselves (what examples are stored with) are untouched."""
    faces = FacePipeline(ReportingDetector([box(100, 100, 300, 300, 0.9)]), FakeEmbedder(), [ReportingPlugin("age")])
    scan = faces.scan_image(blank_rgb, ScanOptions(plugins=frozenset({"calculator", "age"})))
    assert scan.plugins_versions == {
        "detector": "fake.FaceDetector@1",
        "detector.runtime": "openvino 9.9.9 f32",
        "calculator": "fake.Calculator@1",  # the fake embedder does not say: no key
        "age": "fake.age@1",
        "age.runtime": "onnxruntime 1.0.0 f32",
    }
    whole = faces.scan_image(blank_rgb, ScanOptions(detect_faces=False))
    assert whole.plugins_versions == {"detector": "fake.FaceDetector@1"}  # the detector did not run


def test_an_onnx_model_says_its_runtime_once_loaded(tmp_path: Path) -> None:
    block_quantised_model(tmp_path / "m.onnx")
    model = OnnxModel(lambda: OnnxSession(tmp_path / "m.onnx", runtime=RuntimeOptions("onnxruntime")))
    assert model.runtime is None  # never loads a model just to say
    model.load()
    assert model.runtime == f"onnxruntime {onnxruntime().__version__} f32"
    stubbed = OnnxModel(lambda: StubSession(lambda blob: blob))
    stubbed.load()
    assert stubbed.runtime is None  # a stub session that does not say


# Real runtimes on real faces.

openvino_installed = importlib.util.find_spec("openvino") is not None
needs_openvino = pytest.mark.skipif(
    not openvino_installed and not os.environ.get("CI"), reason="openvino is not installed (make installs it)"
)
ALL_PLUGINS = "age,gender,mask,pose"
PEOPLE = ["obama", "biden", "angelina_jolie", "jennifer_aniston"]


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FacePipeline]]:
    """Both runtimes at f32: OpenVINO would otherwise take bf16 on CPUs with AMX (as this test's second
    machine had), and bf16 agrees with f32 only as far as `test_reduced_precision_keeps_every_answer` says."""
    data_dir = tmp_path_factory.mktemp("runtimes")
    built = {
        runtime: build_pipeline(
            Settings(data_dir=data_dir, runtime=runtime, runtime_precision="f32", plugins=ALL_PLUGINS)
        )
        for runtime in ("onnxruntime", "openvino")
    }
    for pipeline in built.values():
        pipeline.load()
    yield built


def crops_of(pipeline: FacePipeline, name: str) -> FaceCrops:
    image = decode_image((FIXTURES / "faces" / f"{name}.jpg").read_bytes(), 40_000_000, 100)
    detections = pipeline.detections(image, ScanOptions())
    return FaceCrops(image, [detections[0].landmarks])


def embed(embedder: Embedder, crops: FaceCrops) -> np.ndarray:
    return np.asarray(l2_normalize(embedder.embed(crops.get(ARCFACE_112))[0]))


@pytest.mark.models
@needs_openvino
def test_each_pipeline_runs_on_the_runtime_it_was_asked_for(pipelines: dict[str, FacePipeline]) -> None:
    for runtime, pipeline in pipelines.items():
        models = [pipeline.detector, pipeline.embedder, *pipeline.plugins.values()]
        for model in models:
            assert isinstance(model, OnnxModel) or hasattr(model, "classifiers")
            assert getattr(model, "runtime", "").startswith(f"{runtime} "), (model, runtime)


@pytest.mark.models
@needs_openvino
def test_embeddings_from_either_runtime_are_the_same_on_real_faces(pipelines: dict[str, FacePipeline]) -> None:
    ort, ov = pipelines["onnxruntime"], pipelines["openvino"]
    names = [f"{person}_{n}" for person in PEOPLE for n in (1, 2)] + ["stranger_elon_musk", "stranger_steve_carell"]
    for name in names:
        crops = crops_of(ort, name)
        cosine = float(embed(ort.embedder, crops) @ embed(ov.embedder, crops))
        assert cosine >= 0.999, (name, cosine)


@pytest.mark.models
@needs_openvino
def test_recognition_across_runtimes(pipelines: dict[str, FacePipeline]) -> None:
    """Collections enrolled on onnxruntime recognise faces embedded by OpenVINO, and the other way round."""
    ort, ov = pipelines["onnxruntime"], pipelines["openvino"]
    for enrolled_on, asked_on in ((ort, ov), (ov, ort)):
        gallery = np.stack([embed(enrolled_on.embedder, crops_of(ort, f"{person}_1")) for person in PEOPLE])
        for index, person in enumerate(PEOPLE):
            similarities = gallery @ embed(asked_on.embedder, crops_of(ort, f"{person}_2"))
            assert int(np.argmax(similarities)) == index, (person, similarities)


@pytest.mark.models
@needs_openvino
def test_detector_and_plugins_agree_across_runtimes(pipelines: dict[str, FacePipeline]) -> None:
    ort, ov = pipelines["onnxruntime"], pipelines["openvino"]
    group = decode_image((FIXTURES / "groups" / "five_faces.jpg").read_bytes(), 40_000_000, 100)
    found = [pipeline.detections(group, ScanOptions()) for pipeline in (ort, ov)]
    assert len(found[0]) == len(found[1]) == 5
    for a, b in zip(*found, strict=True):
        assert abs(a.x_min - b.x_min) < 1 and abs(a.y_max - b.y_max) < 1 and abs(a.probability - b.probability) < 1e-3
    crops = FaceCrops(group, [d.landmarks for d in found[0]])
    for slug in ALL_PLUGINS.split(","):
        for a_value, b_value in zip(ort.plugins[slug].predict(crops), ov.plugins[slug].predict(crops), strict=True):
            a_fields, b_fields = dataclasses.asdict(a_value), dataclasses.asdict(b_value)  # type: ignore[call-overload]
            labels = {key for key, value in a_fields.items() if isinstance(value, str | int)}
            assert {k: a_fields[k] for k in labels} == {k: b_fields[k] for k in labels}, slug  # values, groups
            # probabilities within 0.001, pose angles within 0.05 degree
            assert a_fields == pytest.approx(b_fields, abs=5e-2 if slug == "pose" else 1e-3), slug


@pytest.mark.models
@needs_openvino
def test_reduced_precision_keeps_every_answer(
    tmp_path: Path, pipelines: dict[str, FacePipeline], capsys: pytest.CaptureFixture[str]
) -> None:
    """With `runtime_precision=auto` OpenVINO may compute in bf16 or f16 (CPUs with AMX or AVX512-FP16):
    labels stay the same, probabilities move by less than 0.05 and angles by less than 2 degrees (measured on
    a Xeon with AMX: mask 0.015, age 0.0024). Where the CPU has neither, this compares f32 with f32."""
    reduced = build_pipeline(Settings(data_dir=tmp_path, runtime="openvino", plugins=ALL_PLUGINS))
    reduced.load()
    reference = pipelines["onnxruntime"]
    group = decode_image((FIXTURES / "groups" / "five_faces.jpg").read_bytes(), 40_000_000, 100)
    crops = FaceCrops(group, [d.landmarks for d in reference.detections(group, ScanOptions())])
    for slug in ALL_PLUGINS.split(","):
        with capsys.disabled():
            print(f"\n{slug}: {runtime_of(reduced.plugins[slug])}", end="")  # which precision ran
        for a_value, b_value in zip(
            reference.plugins[slug].predict(crops), reduced.plugins[slug].predict(crops), strict=True
        ):
            a_fields, b_fields = dataclasses.asdict(a_value), dataclasses.asdict(b_value)  # type: ignore[call-overload]
            labels = {key for key, value in a_fields.items() if isinstance(value, str | int)}
            assert {k: a_fields[k] for k in labels} == {k: b_fields[k] for k in labels}, slug
            assert a_fields == pytest.approx(b_fields, abs=2.0 if slug == "pose" else 5e-2), slug


@pytest.mark.models
@needs_openvino
def test_openvino_serves_concurrent_inference_workers(pipelines: dict[str, FacePipeline]) -> None:
    """Each calling thread has its own infer request: two workers at once get the answers one gets alone."""
    embedder = pipelines["openvino"].embedder
    batch = np.concatenate([crops_of(pipelines["onnxruntime"], f"{p}_1").get(ARCFACE_112) for p in PEOPLE])
    alone = embedder.embed(batch)
    answers: list[np.ndarray] = []

    def worker() -> None:
        for _ in range(5):
            answers.append(embedder.embed(batch))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 10
    for answer in answers:
        np.testing.assert_allclose(answer, alone, rtol=1e-5, atol=1e-5)


NO_TELEMETRY = """
import importlib.util, json, socket, sys
import numpy as np

def refuse(*args, **kwargs):
    raise AssertionError("a network connection was attempted")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
from facekeeper.inference.model_files import SFACE_INT8
from facekeeper.inference.models.sface import SFaceEmbedder
from facekeeper.inference.runtimes import RuntimeOptions

embedder = SFaceEmbedder(SFACE_INT8.locate(), runtime=RuntimeOptions("auto"))
embedder.embed(np.zeros((1, 112, 112, 3), dtype=np.uint8))
print(json.dumps({
    "runtime": embedder.runtime,
    "measured": sorted(embedder.session.measured_ms),
    "telemetry_imported": [name for name in sys.modules if name.startswith("openvino_telemetry")],
    "telemetry_installed": importlib.util.find_spec("openvino_telemetry") is not None,
}))
"""


@pytest.mark.models
@needs_openvino
def test_runtimes_send_and_write_nothing(tmp_path: Path) -> None:
    """Both runtimes opened (`auto`, nothing remembered): no network call, no file in the home or working
    directory (onnxruntime writes a device id and an event store under ~/.cache unless its telemetry is
    off), and no OpenVINO telemetry package (make installs openvino with --no-deps): its conversion tools
    get their no-op stub."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACEKEEPER_", "XDG_", "ORT_"))}
    env["HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", NO_TELEMETRY], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"onnxruntime f32", "openvino f32"} <= set(report["measured"])
    assert report["telemetry_imported"] == [] and report["telemetry_installed"] is False
    assert list(home.rglob("*")) == [] and list(work.rglob("*")) == []
