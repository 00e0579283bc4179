from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from facekeeper.inference.convert.cache import converted_model
from facekeeper.inference.convert.graph import GraphBuilder


def tiny_model(_: Path) -> onnx.ModelProto:
    graph = GraphBuilder("tiny")
    x = graph.input("input", ["N", 2])
    return graph.model(graph.node("Relu", [x], "relu"), "probabilities", ["N", 2])


def test_converts_once_and_reuses_the_cached_file(tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"v1")
    calls: list[Path] = []

    def convert(path: Path) -> onnx.ModelProto:
        calls.append(path)
        return tiny_model(path)

    first = converted_model(source, tmp_path / "cache", "tiny", "conv/1", convert)
    second = converted_model(source, tmp_path / "cache", "tiny", "conv/1", convert)
    assert first == second and len(calls) == 1
    onnx.checker.check_model(onnx.load(str(first)))


def test_a_new_source_or_converter_version_gives_a_new_file(tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"v1")
    cache = tmp_path / "cache"
    original = converted_model(source, cache, "tiny", "conv/1", tiny_model)
    assert converted_model(source, cache, "tiny", "conv/2", tiny_model) != original
    source.write_bytes(b"v2")
    assert converted_model(source, cache, "tiny", "conv/1", tiny_model) != original


def test_a_failed_conversion_leaves_nothing_behind(tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"v1")

    def broken(_: Path) -> onnx.ModelProto:
        raise ValueError("not a model")

    with pytest.raises(ValueError):
        converted_model(source, tmp_path / "cache", "tiny", "conv/1", broken)
    assert list((tmp_path / "cache").iterdir()) == []
