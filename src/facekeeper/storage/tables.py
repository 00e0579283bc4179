"""SQLAlchemy 2.0 typed tables.

Schema decisions: a subject's name is unique per service case-insensitively (CompreFace looks names up
ignoring case), so the folded spelling gets its own unique column; embeddings are float32 bytes so the
same column works on SQLite and PostgreSQL; an example's image lives in its own table (kept out of the
rows the index loads) and is deleted with the example (D7).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ServiceTable(Base):
    """A recognition, detection or verification service: one API key, and for recognition one collection."""

    __tablename__ = "service"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # Unbounded: casefold() can lengthen a name ("ß" -> "ss").
    name_folded: Mapped[str] = mapped_column(String, unique=True)
    type: Mapped[str] = mapped_column(String(1))
    api_key: Mapped[str] = mapped_column(String(36), unique=True)
    # The sequence number of the collection's newest change-log entry, bumped in the same transaction as
    # every change: a process whose index is at this position is current, one behind it replays the log.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # Kept in step by the same transactions, so listing a million examples never counts them.
    example_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (CheckConstraint("type IN ('R', 'D', 'V')", name="ck_service_type"),)


class SubjectTable(Base):
    __tablename__ = "subject"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    name_folded: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (UniqueConstraint("service_id", "name_folded", name="uq_subject_service_name"),)


class ExampleTable(Base):
    """One example face of a subject; its id is the `image_id` clients see."""

    __tablename__ = "example"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id", ondelete="CASCADE"))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    dimension: Mapped[int] = mapped_column(Integer)
    calculator: Mapped[str] = mapped_column(String(255))
    # SHA-256 (hex) of the image the example was made from: how a re-run bulk import recognises what it
    # already imported. NULL for examples made before migration 0002 or from embeddings alone.
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (
        Index("ix_example_service", "service_id", "id"),
        Index("ix_example_subject", "subject_id", "id"),
        Index("ix_example_content", "service_id", "content_sha256"),
        # Answers "is any example embedded by another model?" with two index probes instead of a scan.
        Index("ix_example_calculator", "calculator"),
    )


class CollectionChangeTable(Base):
    """The change log: one row per change to a collection, numbered by the service's `revision`.

    Written in the same transaction as the change, so every process can replay what it has not seen
    instead of reloading the collection. `payload` is the change as JSON (see `index/changes.py`).
    Old entries are pruned (see `ChangeLogRepository.prune`); a process behind the oldest one reloads.
    """

    __tablename__ = "collection_change"

    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ExampleImageTable(Base):
    __tablename__ = "example_image"

    example_id: Mapped[str] = mapped_column(ForeignKey("example.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
