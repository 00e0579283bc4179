"""Pose angles from a 3DDFA camera: invariant to scale, mirrored by a mirror, and the plugin's input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facekeeper.inference.alignment import ARCFACE_TEMPLATE
from facekeeper.inference.crops import FaceCrops
from facekeeper.inference.models.pose import PosePlugin, pose_from_camera

from ..fakes import StubSession


def rotation(x_deg: float, y_deg: float, z_deg: float) -> np.ndarray:
    x, y, z = np.radians([x_deg, y_deg, z_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rz @ ry @ rx


def camera(matrix: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return np.hstack([scale * matrix, np.array([[40.0], [50.0], [0.0]])])


ANGLES = [(10.0, -20.0, 5.0), (-15.0, 30.0, -12.0), (3.0, 0.0, 25.0)]


@pytest.mark.parametrize("angles", ANGLES)
def test_angles_round_trip_and_ignore_scale(angles: tuple[float, float, float]) -> None:
    pitch, yaw, roll = angles
    pose = pose_from_camera(camera(rotation(-pitch, yaw, -roll), scale=0.0013))
    assert (pose.pitch, pose.yaw, pose.roll) == pytest.approx((pitch, yaw, roll), abs=1e-6)


@pytest.mark.parametrize("angles", ANGLES)
def test_a_mirror_keeps_pitch_and_negates_yaw_and_roll(angles: tuple[float, float, float]) -> None:
    flip = np.diag([-1.0, 1.0, 1.0])
    matrix = rotation(*angles)
    pose, mirrored = pose_from_camera(camera(matrix)), pose_from_camera(camera(flip @ matrix @ flip))
    assert mirrored.pitch == pytest.approx(pose.pitch) and mirrored.yaw == pytest.approx(-pose.yaw)
    assert mirrored.roll == pytest.approx(-pose.roll)


def test_plugin_feeds_bgr_crops_and_denormalises_parameters() -> None:
    mean, std = np.zeros(62), np.ones(62)
    mean[:12] = camera(rotation(0, 0, 0)).reshape(-1)
    session = StubSession(lambda blob: np.zeros((len(blob), 62), dtype=np.float32))
    plugin = PosePlugin(Path("unused.onnx"), mean, std, session=session)
    image = np.zeros((300, 300, 3), dtype=np.uint8)
    image[..., 0] = 255  # pure red in RGB
    poses = plugin.predict(FaceCrops(image, [ARCFACE_TEMPLATE * 1.5, ARCFACE_TEMPLATE * 1.5 + 80]))
    assert [(p.pitch, p.yaw, p.roll) for p in poses] == [(0.0, 0.0, 0.0)] * 2
    blob = session.inputs[0]
    assert blob.shape == (2, 3, 120, 120)
    assert blob[0, 2, 60, 60] == pytest.approx((255 - 127.5) / 128) and blob[0, 0, 60, 60] == pytest.approx(
        -127.5 / 128
    )
