"""1:N recognition and 1:1 verification against stored examples (CompreFace §4.3, §4.4)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from facekeeper.domain import (
    CALCULATOR,
    Face,
    FaceScan,
    Match,
    ScanOptions,
    ServiceRecord,
    SimilarityCoefficients,
    l2_normalize,
    with_calculator,
)
from facekeeper.errors import Error, FacekeeperError
from facekeeper.inference.pipeline import FacePipeline
from facekeeper.services.collection import FaceCollections
from facekeeper.services.comparison import (
    check_dimension,
    pairwise_similarities,
    similarity_of,
)
from facekeeper.storage.repositories import ExampleRepository


@dataclass
class RecognizedFace:
    face: Face
    matches: list[Match]


@dataclass
class Recognition:
    faces: list[RecognizedFace]
    plugins_versions: dict[str, str]


@dataclass
class VerifiedFace:
    face: Face
    subject: str
    similarity: float


@dataclass
class EmbeddingMatches:
    embedding: np.ndarray
    matches: list[Match]


class RecognitionService:
    """Each image use case comes in two halves, so the router can run the model half in the inference pool
    and the collection half (index search, reload, stored example) in the database pool."""

    def __init__(self, collections: FaceCollections, pipeline: FacePipeline, max_matches: int = 100_000) -> None:
        self.collections = collections
        self.pipeline = pipeline
        self.max_matches = max_matches

    def coefficients(self, service: ServiceRecord) -> SimilarityCoefficients:
        """The similarity of the collection's embedder: coefficients live with the model."""
        return self.pipeline.embedder_for(service.embedder).coefficients

    def dimension(self, service: ServiceRecord) -> int:
        return self.pipeline.embedder_for(service.embedder).dimension

    def calculator(self, service: ServiceRecord) -> str:
        return self.pipeline.embedder_for(service.embedder).version

    def scan(self, service: ServiceRecord, image: bytes, options: ScanOptions) -> FaceScan:
        """The model half: faces with their embeddings by the collection's embedder."""
        return self.pipeline.scan(image, replace(with_calculator(options), embedder=service.embedder))

    def _check_calculator(self, service: ServiceRecord, stored: str | None, queries: str) -> None:
        """Vectors of two embedders are never compared: a switch between the request's look at the service
        and the search is refused (the client sends the request again and gets the new embedder)."""
        if stored is not None and stored != queries:
            raise FacekeeperError(Error.EMBEDDER_CHANGED, name=service.name, embedder=stored)

    def _matches(
        self, service: ServiceRecord, queries: np.ndarray, prediction_count: int, calculator: str | None = None
    ) -> list[list[Match]]:
        collection = self.collections.current(service)
        self._check_calculator(
            service, self.collections.loaded_calculator(service.id), calculator or self.calculator(service)
        )
        check_dimension(queries.shape[1], collection.dimension)
        answered = len(queries) * min(prediction_count, collection.size)
        if answered > self.max_matches:
            raise FacekeeperError(Error.TOO_MANY_MATCHES, given=answered, limit=self.max_matches)
        neighbours = collection.search(l2_normalize(queries), prediction_count)
        coefficients = self.coefficients(service)
        return [
            [Match(n.image_id, n.subject, similarity_of(coefficients, n.distance)) for n in row] for row in neighbours
        ]

    def recognize(
        self, service: ServiceRecord, image: bytes, options: ScanOptions, prediction_count: int
    ) -> Recognition:
        return self.match(service, self.scan(service, image, options), prediction_count)

    def match(self, service: ServiceRecord, scan: FaceScan, prediction_count: int) -> Recognition:
        """The collection half of recognize."""
        matches = self._matches(service, _embeddings(scan), prediction_count, scan.plugins_versions[CALCULATOR])
        return Recognition(
            [RecognizedFace(face, found) for face, found in zip(scan.faces, matches, strict=True)],
            scan.plugins_versions,
        )

    def recognize_embeddings(
        self, service: ServiceRecord, embeddings: np.ndarray, prediction_count: int
    ) -> list[EmbeddingMatches]:
        matches = self._matches(service, embeddings, prediction_count)
        return [EmbeddingMatches(row, found) for row, found in zip(embeddings, matches, strict=True)]

    def _stored(self, service: ServiceRecord, image_id: str, calculator: str) -> tuple[str, np.ndarray]:
        with self.collections.db.transaction() as session:
            found = ExampleRepository(session).embedding(service.id, image_id)
        if found is None:
            raise FacekeeperError(Error.IMAGE_ID_INCORRECT)
        example, vector, stored_calculator = found
        self._check_calculator(service, stored_calculator, calculator)
        return example.subject, vector

    def verify(
        self, service: ServiceRecord, image_id: str, image: bytes, options: ScanOptions
    ) -> tuple[list[VerifiedFace], dict[str, str]]:
        """Every detected face (biggest first, up to `limit`) against one stored example."""
        return self.verify_scanned(service, image_id, self.scan(service, image, options))

    def verify_scanned(
        self, service: ServiceRecord, image_id: str, scan: FaceScan
    ) -> tuple[list[VerifiedFace], dict[str, str]]:
        """The collection half of verify."""
        subject, stored = self._stored(service, image_id, scan.plugins_versions[CALCULATOR])
        similarities = pairwise_similarities(self.coefficients(service), stored, _embeddings(scan))
        faces = [VerifiedFace(face, subject, s) for face, s in zip(scan.faces, similarities, strict=True)]
        return faces, scan.plugins_versions

    def verify_embeddings(
        self, service: ServiceRecord, image_id: str, embeddings: np.ndarray
    ) -> list[tuple[np.ndarray, float]]:
        _, stored = self._stored(service, image_id, self.calculator(service))
        similarities = pairwise_similarities(self.coefficients(service), stored, embeddings)
        pairs = list(zip(embeddings, similarities, strict=True))
        return sorted(pairs, key=lambda pair: pair[1], reverse=True)


def _embeddings(scan: FaceScan) -> np.ndarray:
    return np.stack([face.embedding for face in scan.faces])  # type: ignore[misc]
