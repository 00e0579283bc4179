"""Response models with CompreFace field names, for the OpenAPI description.

Routers build JSON with `api/presenters.py` (CompreFace omits absent fields rather than sending null);
these models document the same shapes.
"""

from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    message: str
    code: int


class Box(BaseModel):
    probability: float
    x_max: int
    y_max: int
    x_min: int
    y_min: int


class AgeOut(BaseModel):
    probability: float
    high: int
    low: int


class LabelOut(BaseModel):
    """`gender` (male, female) and `mask` (without_mask, with_mask)."""

    probability: float
    value: str


class PoseOut(BaseModel):
    pitch: float
    roll: float
    yaw: float


class FaceOut(BaseModel):
    age: AgeOut | None = None
    gender: LabelOut | None = None
    mask: LabelOut | None = None
    pose: PoseOut | None = None
    box: Box
    landmarks: list[list[int]] | None = None
    embedding: list[float] | None = None
    execution_time: dict[str, float] | None = None


class SubjectSimilarity(BaseModel):
    subject: str
    similarity: float


class RecognizedFaceOut(FaceOut):
    subjects: list[SubjectSimilarity]


class RecognizeResponse(BaseModel):
    result: list[RecognizedFaceOut]
    plugins_versions: dict[str, str] | None = None


class DetectResponse(BaseModel):
    result: list[FaceOut]
    plugins_versions: dict[str, str] | None = None


class VerifiedFaceOut(FaceOut):
    subject: str
    similarity: float


class VerifyExampleResponse(BaseModel):
    result: list[VerifiedFaceOut]
    plugins_versions: dict[str, str] | None = None


class FaceMatchOut(FaceOut):
    similarity: float


class VerificationResultOut(BaseModel):
    source_image_face: FaceOut
    face_matches: list[FaceMatchOut]
    plugins_versions: dict[str, str] | None = None


class VerificationResponse(BaseModel):
    result: list[VerificationResultOut]


class EmbeddingSimilarities(BaseModel):
    embedding: list[float]
    similarities: list[SubjectSimilarity]


class EmbeddingsRecognizeResponse(BaseModel):
    result: list[EmbeddingSimilarities]


class EmbeddingSimilarity(BaseModel):
    embedding: list[float]
    similarity: float


class EmbeddingsVerifyResponse(BaseModel):
    result: list[EmbeddingSimilarity]


class SubjectBody(BaseModel):
    subject: str


class SubjectsResponse(BaseModel):
    subjects: list[str]


class UpdatedResponse(BaseModel):
    updated: bool


class DeletedResponse(BaseModel):
    deleted: int


class ExampleOut(BaseModel):
    image_id: str
    subject: str


class ExamplesPage(BaseModel):
    faces: list[ExampleOut]
    page_number: int
    page_size: int
    total_pages: int
    total_elements: int


class ConfigResponse(BaseModel):
    clientMaxFileSize: int
    clientMaxBodySize: int


class ConsistenceResponse(BaseModel):
    demoFaceCollectionIsInconsistent: bool
    dbIsInconsistent: bool
    saveImagesToDB: bool
    status: str
