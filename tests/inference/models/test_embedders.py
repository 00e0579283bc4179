"""The embedders beyond SFace: dlib's ResNet on YuNet points, flip-averaged variants, the sface+dlib fusion
and operator-supplied ONNX embedders described by a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facekeeper.domain import ScanOptions, SimilarityCoefficients, l2_normalize
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.base import CropsEmbedder, embed_faces
from facekeeper.inference.crops import ARCFACE_112, FaceCrops
from facekeeper.inference.images import decode_image
from facekeeper.inference.models.composite import FUSION_WEIGHTS, FlipAveraged, Fusion, MirroredCrops
from facekeeper.inference.models.dlib_resnet import DLIB_CHIP_150
from facekeeper.inference.models.manifest import ManifestEmbedder, read_manifest
from facekeeper.inference.registry import build_pipeline, default_registry
from facekeeper.settings import Settings
from tests.support.manifests import write_manifest

from ..fakes import FakeEmbedder

FACES = Path(__file__).resolve().parents[2] / "fixtures" / "faces"
PEOPLE = ("obama", "biden", "angelina_jolie", "jennifer_aniston")


def crops_of(image: np.ndarray, faces: int = 1) -> FaceCrops:
    """`faces` copies of one face whose landmarks sit on the ArcFace template of a 112 px image."""
    template = ARCFACE_112.template.astype(np.float32)
    return FaceCrops(image, [template] * faces)


def gradient_image() -> np.ndarray:
    """Left dark, right bright: a mirror changes every crop."""
    row = np.linspace(0, 255, 112, dtype=np.float32)
    image = np.stack([np.tile(row, (112, 1)), np.tile(row[::-1], (112, 1)), np.full((112, 112), 60.0)], axis=2)
    return image.astype(np.uint8)


class MeanColours:
    """A tiny CropsEmbedder: mean colour of its crop's left and right halves (6-d)."""

    version = "halves@1"
    dimension = 6
    coefficients = SimilarityCoefficients(1.0, 5.0)
    crops = (ARCFACE_112,)

    def load(self) -> None:
        pass

    def embed(self, faces_rgb: np.ndarray) -> np.ndarray:
        left = faces_rgb[:, :, :56].reshape(len(faces_rgb), -1, 3).mean(axis=1)
        right = faces_rgb[:, :, 56:].reshape(len(faces_rgb), -1, 3).mean(axis=1)
        return np.concatenate([left, right], axis=1).astype(np.float32)

    def embed_faces(self, faces: FaceCrops) -> np.ndarray:
        return self.embed(faces.get(ARCFACE_112))


def test_flip_averages_the_normalised_embeddings_of_the_face_and_its_mirror() -> None:
    inner = MeanColours()
    flip = FlipAveraged(inner)
    faces = crops_of(gradient_image(), faces=2)
    straight = l2_normalize(inner.embed(faces.get(ARCFACE_112)))
    mirrored = l2_normalize(inner.embed(faces.get(ARCFACE_112)[:, :, ::-1]))
    assert not np.allclose(straight, mirrored)
    np.testing.assert_allclose(flip.embed_faces(faces), (straight + mirrored) / 2, rtol=1e-6)
    # The same face seen in a mirror gets the same vector: flip-averaging is mirror-invariant.
    np.testing.assert_allclose(flip.embed_faces(MirroredCrops(faces)), flip.embed_faces(faces), rtol=1e-6)
    assert (flip.version, flip.dimension, flip.crops) == ("halves@1+flip", 6, (ARCFACE_112,))
    # A plain (ArcFace crops) embedder gets the same treatment through `embed`.
    plain = FlipAveraged(FakeEmbedder())
    assert plain.embed(faces.get(ARCFACE_112)).shape == (2, FakeEmbedder.dimension)
    assert not isinstance(FakeEmbedder(), CropsEmbedder) and isinstance(plain, CropsEmbedder)


def test_fusion_concatenates_weighted_unit_vectors_so_its_cosine_is_the_mean_cosine() -> None:
    first, second = MeanColours(), FakeEmbedder()
    fusion = Fusion([first, second], FUSION_WEIGHTS, SimilarityCoefficients(1.0, 9.0))
    assert fusion.dimension == 6 + FakeEmbedder.dimension and fusion.crops == (ARCFACE_112,)
    a = fusion.embed_faces(crops_of(gradient_image()))
    b = fusion.embed_faces(crops_of(np.ascontiguousarray(gradient_image()[:, ::-1])))
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-6)
    cos_first = float((l2_normalize(a[:, :6]) @ l2_normalize(b[:, :6]).T)[0, 0])
    cos_second = float((l2_normalize(a[:, 6:]) @ l2_normalize(b[:, 6:]).T)[0, 0])
    assert float((a @ b.T)[0, 0]) == pytest.approx((cos_first + cos_second) / 2, abs=1e-6)
    with pytest.raises(ValueError):
        Fusion([first], (0.5, 0.5), SimilarityCoefficients(1.0, 1.0))


def test_the_registry_knows_every_shipped_embedder_and_any_flip_variant() -> None:
    registry = default_registry()
    settings = Settings()
    assert {"sface", "dlib", "sface+dlib"} <= set(registry.embedder_names())
    built = {name: registry.build_embedder(name, settings) for name in ("sface-flip", "dlib-flip", "sface+dlib-flip")}
    assert built["sface-flip"].version == "sface.Calculator@2021dec_int8bq+flip"
    assert built["sface+dlib-flip"].dimension == 256
    # every embedder carries its own coefficients, and no two share a calculator version
    names = ["sface", "dlib", "sface+dlib", "sface-flip", "dlib-flip", "sface+dlib-flip"]
    versions = {registry.build_embedder(name, settings).version for name in names}
    assert len(versions) == len(names)
    with pytest.raises(FacekeeperError) as unknown:
        registry.build_embedder("nothing-flip", settings)
    assert unknown.value.error is Error.MODEL_UNAVAILABLE


def test_a_manifest_embedder_applies_its_size_colour_order_and_normalisation(tmp_path: Path) -> None:
    manifest = read_manifest(write_manifest(tmp_path))
    assert manifest.version.startswith("means.Calculator@sha256:") and manifest.dimension == 3
    embedder = ManifestEmbedder(manifest)
    face = np.zeros((112, 112, 3), np.uint8)
    face[:] = (200, 100, 50)  # RGB
    faces = crops_of(face)
    vector = embedder.embed_faces(faces)
    crop = faces.get(embedder.crop).astype(np.float64)
    assert crop.shape == (1, 56, 56, 3)
    # BGR order, then (value - mean) / std per channel, averaged over the crop by the network
    expected = ((crop[..., ::-1] - (10, 20, 30)) / 2).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(vector[0], expected, rtol=1e-5)
    assert vector[0] == pytest.approx([20.0, 40.0, 85.0], rel=0.02)  # (50-10)/2, (100-20)/2, (200-30)/2
    assert embedder.crop.size == 56 and embedder.coefficients == SimilarityCoefficients(0.9, 7.5)


def test_manifest_embedders_are_chosen_by_name_with_their_flip_variant(tmp_path: Path) -> None:
    path = write_manifest(tmp_path)
    settings = Settings(embedder_manifests=f" {path} ", embedder="means", plugins="")
    pipeline = build_pipeline(settings)
    assert pipeline.embedder.version == read_manifest(path).version
    assert pipeline.embedder_for("means-flip").version.endswith("+flip")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"file": "missing.onnx"}, "does not exist"),
        ({"input": {"layout": "CHWN"}}, "input.layout must be NCHW or NHWC"),
        ({"input": {"std": [1, 0, 1]}}, "input.std must not be 0"),
        ({"coefficients": {"c0": 1.0}}, "bad embedder manifest"),
        ({"name": ""}, "name must be a non-empty string"),
    ],
)
def test_a_bad_manifest_is_a_clear_model_error(tmp_path: Path, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(FacekeeperError) as refused:
        read_manifest(write_manifest(tmp_path, **changes))
    assert refused.value.error is Error.MODEL_UNAVAILABLE and reason in refused.value.message


@pytest.mark.models
def test_dlib_on_yunet_points_tells_the_fixture_people_apart() -> None:
    pipeline = build_pipeline(Settings(plugins=""))
    vectors: dict[str, np.ndarray] = {}
    for person in PEOPLE:
        for n in (1, 2):
            scan = pipeline.scan(
                (FACES / f"{person}_{n}.jpg").read_bytes(),
                ScanOptions(limit=1, plugins=frozenset({"calculator"}), embedder="dlib"),
            )
            assert scan.plugins_versions["calculator"] == "dlib.Calculator@resnet_v1"
            embedding = scan.faces[0].embedding
            assert embedding is not None and embedding.shape == (128,)
            vectors[f"{person}_{n}"] = l2_normalize(embedding)
    dlib = pipeline.embedder_for("dlib")
    for person in PEOPLE:
        genuine = float(np.linalg.norm(vectors[f"{person}_1"] - vectors[f"{person}_2"]))
        impostors = [
            float(np.linalg.norm(vectors[f"{person}_1"] - vectors[f"{other}_2"])) for other in PEOPLE if other != person
        ]
        assert genuine < min(impostors)
        assert dlib.coefficients.similarity(genuine) > 0.5 > max(dlib.coefficients.similarity(d) for d in impostors)
    assert DLIB_CHIP_150.size == 150


@pytest.mark.models
def test_composite_embedders_give_each_face_of_a_batch_what_it_gets_alone() -> None:
    pipeline = build_pipeline(Settings(plugins=""))
    image = decode_image((FACES.parent / "groups" / "five_faces.jpg").read_bytes(), 10**8)
    landmarks = [d.landmarks for d in pipeline.detections(image, ScanOptions())]
    assert len(landmarks) == 5
    embedder = pipeline.embedder_for("sface+dlib-flip")
    together = embed_faces(embedder, FaceCrops(image, landmarks))
    alone = np.concatenate([embed_faces(embedder, FaceCrops(image, [points])) for points in landmarks])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    assert embed_faces(pipeline.embedder_for("dlib"), FaceCrops(image, [])).shape == (0, 128)
