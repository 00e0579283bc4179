"""SQLAlchemy 2.0 typed tables.

Schema decisions: a subject's name is unique per service case-insensitively (CompreFace looks names up
ignoring case), so the folded spelling gets its own unique column; embeddings are float32 bytes so the
same column works on SQLite and PostgreSQL; an example's image lives in its own table (kept out of the
rows the index loads) and is deleted with the example (D7).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
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
    # The embedder (registry name) the collection's examples are embedded with (migration 0005).
    embedder: Mapped[str] = mapped_column(String(64), default="sface", server_default="sface")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # The application holding the service (migration 0004). No foreign key: adding one to an existing
    # SQLite table means rebuilding it, which would cascade-delete its collections; deleting an
    # application deletes its services in the same transaction instead (services/applications.py).
    application_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        CheckConstraint("type IN ('R', 'D', 'V')", name="ck_service_type"),
        Index("ix_service_application", "application_id"),
    )


class SubjectTable(Base):
    __tablename__ = "subject"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    name_folded: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (
        UniqueConstraint("service_id", "name_folded", name="uq_subject_service_name"),
        # A service's subjects in creation order (`GET /subjects`), without reading other services'.
        Index("ix_subject_service", "service_id", "id"),
    )


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


class PendingEmbeddingTable(Base):
    """An example re-embedded by `facekeeper migrate`, waiting for the switch of its service's embedder.

    The example row keeps its old embedding (still searched) until every example of the service has a
    pending row; then one transaction copies them over and switches `service.embedder`. Rows survive an
    interrupted run, which is what makes the migration resumable; they go with their example.
    """

    __tablename__ = "pending_embedding"

    example_id: Mapped[str] = mapped_column(ForeignKey("example.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    embedder: Mapped[str] = mapped_column(String(64))
    calculator: Mapped[str] = mapped_column(String(255))
    dimension: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_pending_embedding_service", "service_id", "embedder"),)


class ExampleImageTable(Base):
    __tablename__ = "example_image"

    example_id: Mapped[str] = mapped_column(ForeignKey("example.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


# --- the admin side (migration 0004): accounts, applications, memberships, sessions, usage ---------


class AccountTable(Base):
    """A person who signs in to the admin API. `role` is the global role: O(wner), A(dministrator), U(ser)."""

    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_folded: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (CheckConstraint("role IN ('O', 'A', 'U')", name="ck_account_role"),)


class ApplicationTable(Base):
    """A group of services, with members who may use or manage them."""

    __tablename__ = "application"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    name_folded: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class MembershipTable(Base):
    """An account's role in one application: O(wner), A(dministrator) or U(ser)."""

    __tablename__ = "membership"

    application_id: Mapped[str] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (
        CheckConstraint("role IN ('O', 'A', 'U')", name="ck_membership_role"),
        Index("ix_membership_account", "account_id"),
    )


class AdminSessionTable(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored: a copy of the database
    does not let anyone sign in."""

    __tablename__ = "admin_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_admin_session_account", "account_id"),)


class SetupCodeTable(Base):
    """The one-time code that lets the first sign-up become the owner: one row at most, its SHA-256
    only, replaced at every start of a server without owner and deleted when used."""

    __tablename__ = "setup_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ServiceUsageTable(Base):
    """Face API requests per service per UTC day (added up from every process's counters)."""

    __tablename__ = "service_usage"

    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)


class SignInFailureTable(Base):
    """One failed admin sign-in (or wrong setup code) for one key, an email or a client address (migration
    0007). Kept in the database so every process and host counts the same failures, and a restart forgets
    none. Only the key's SHA-256 is stored, never the email or address; the time is the wall clock (UTC),
    the one clock processes share. Rows older than the window are pruned (services/ratelimit.py)."""

    __tablename__ = "sign_in_failure"

    # BIGINT on PostgreSQL (rows come and go for ever); on SQLite only INTEGER is the auto-numbered rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_sign_in_failure_key", "key_hash", "failed_at"),
        # The pruning finds expired rows without reading the whole table.
        Index("ix_sign_in_failure_time", "failed_at"),
    )
