"""Bodies and answers of the admin API, for validation and OpenAPI (docs/admin.md says the same)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from facekeeper.domain import AccountRecord, ApplicationRecord, MemberRecord, Role, ServiceDetails
from facekeeper.services.applications import ApplicationView, service_type_name
from facekeeper.services.sessions import AdminSession

RoleName = Literal["OWNER", "ADMINISTRATOR", "USER"]
TypeName = Literal["RECOGNITION", "DETECTION", "VERIFY"]


class SetupState(BaseModel):
    owner_exists: bool


class SetupBody(BaseModel):
    setup_code: str
    email: str
    password: str
    name: str | None = None


class SignInBody(BaseModel):
    email: str
    password: str


class NameBody(BaseModel):
    name: str


class ServiceBody(BaseModel):
    name: str
    type: str = Field(description="RECOGNITION, DETECTION or VERIFY")


class MemberBody(BaseModel):
    email: str
    role: str = Field(description="OWNER, ADMINISTRATOR or USER")


class RoleBody(BaseModel):
    role: str = Field(description="OWNER, ADMINISTRATOR or USER")


class AccountBody(BaseModel):
    email: str
    password: str
    role: str = Field("USER", description="Global role: OWNER, ADMINISTRATOR or USER")
    name: str | None = None


class PasswordBody(BaseModel):
    old_password: str
    new_password: str


class SubjectBody(BaseModel):
    subject: str


class AccountOut(BaseModel):
    id: str
    email: str
    name: str | None
    role: RoleName = Field(description="The global role.")
    created_at: datetime | None = None


class AccountsOut(BaseModel):
    accounts: list[AccountOut]


class SessionOut(BaseModel):
    account: AccountOut
    csrf_token: str = Field(description="Send it back as the X-CSRF-Token header on every POST/PUT/PATCH/DELETE.")
    expires_at: datetime


class ApplicationOut(BaseModel):
    id: str
    name: str
    role: RoleName = Field(description="The caller's role in this application.")
    service_count: int
    created_at: datetime


class ApplicationsOut(BaseModel):
    applications: list[ApplicationOut]


class ServiceOut(BaseModel):
    id: str
    name: str
    type: TypeName
    api_key: str
    application_id: str | None
    created_at: datetime
    example_count: int
    embedder: str = Field(description="The embedder the collection is built with (see migrate).")
    subject_count: int | None = None
    role: RoleName | None = Field(None, description="The caller's role in the service's application.")


class ServicesOut(BaseModel):
    services: list[ServiceOut]


class MemberOut(BaseModel):
    account_id: str
    email: str
    name: str | None
    role: RoleName


class MembersOut(BaseModel):
    members: list[MemberOut]


class DayOut(BaseModel):
    date: date
    requests: int


class StatsOut(BaseModel):
    service_id: str
    days: list[DayOut] = Field(description="One entry per UTC day, oldest first, today last.")
    total: int


class SubjectOut(BaseModel):
    subject: str


class SubjectItem(BaseModel):
    subject: str
    example_count: int


class SubjectsPage(BaseModel):
    subjects: list[SubjectItem]
    page_number: int
    page_size: int
    total_pages: int
    total_elements: int


class RenamedSubject(BaseModel):
    updated: bool
    subject: str


class UploadError(BaseModel):
    message: str
    code: int


class UploadResult(BaseModel):
    file: str
    status: int = Field(description="201 when enrolled; otherwise the HTTP status the face API would answer.")
    image_id: str | None = None
    subject: str | None = None
    error: UploadError | None = None


class UploadResults(BaseModel):
    results: list[UploadResult]


def role_name(role: Role) -> RoleName:
    return role.name  # type: ignore[return-value]


def account_json(account: AccountRecord, *, with_created: bool = False) -> dict[str, object]:
    answer: dict[str, object] = {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "role": role_name(account.role),
    }
    if with_created:
        answer["created_at"] = _iso(account.created_at)
    return answer


def session_json(session: AdminSession) -> dict[str, object]:
    return {
        "account": account_json(session.account),
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at.isoformat(),
    }


def _iso(moment: datetime) -> str:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def application_json(view: ApplicationView) -> dict[str, object]:
    return {
        "id": view.application.id,
        "name": view.application.name,
        "role": role_name(view.role),
        "service_count": view.service_count,
        "created_at": _iso(view.application.created_at),
    }


def bare_application_json(application: ApplicationRecord) -> dict[str, object]:
    return {"id": application.id, "name": application.name, "created_at": _iso(application.created_at)}


def service_json(
    service: ServiceDetails, *, subject_count: int | None = None, role: Role | None = None
) -> dict[str, object]:
    answer: dict[str, object] = {
        "id": service.id,
        "name": service.name,
        "type": service_type_name(service.type),
        "api_key": service.api_key,
        "application_id": service.application_id,
        "created_at": _iso(service.created_at),
        "example_count": service.example_count,
        "embedder": service.embedder,
    }
    if subject_count is not None:
        answer["subject_count"] = subject_count
    if role is not None:
        answer["role"] = role_name(role)
    return answer


def member_json(member: MemberRecord) -> dict[str, object]:
    return {
        "account_id": member.account.id,
        "email": member.account.email,
        "name": member.account.name,
        "role": role_name(member.role),
    }


class MigrateBody(BaseModel):
    embedder: str | None = Field(None, description="Target embedder; default: the server's active one.")


class EmbeddersOut(BaseModel):
    embedders: list[str] = Field(description="Names accepted by migrate, each followed by its -flip variant.")
    default: str = Field(description="The embedder new recognition collections are built with.")


class MigrationOut(BaseModel):
    service: str
    embedder: str
    state: Literal["idle", "running", "interrupted", "done", "failed"]
    done: int
    total: int
    error: str | None
