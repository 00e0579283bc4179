"""SQL of the admin side: accounts, applications, memberships, sessions, the setup code, usage per day.

Like `repositories.py`, every class takes a session so a use case can put several in one transaction,
and returns domain values, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facekeeper.domain import (
    AccountRecord,
    ApplicationRecord,
    MemberRecord,
    Role,
    ServiceDetails,
    ServiceType,
    new_id,
)
from facekeeper.storage.tables import (
    AccountTable,
    AdminSessionTable,
    ApplicationTable,
    MembershipTable,
    ServiceTable,
    ServiceUsageTable,
    SetupCodeTable,
    SubjectTable,
)

DEFAULT_APPLICATION = "Default"


def _storable(text: str) -> bool:
    """PostgreSQL cannot hold NUL in text, so no row has it: such a lookup finds nothing, without asking."""
    return "\x00" not in text


def _account(row: Any) -> AccountRecord:
    return AccountRecord(row.id, row.email, row.name, Role(row.role), row.created_at)


def _application(row: Any) -> ApplicationRecord:
    return ApplicationRecord(row.id, row.name, row.created_at)


def _service(row: Any) -> ServiceDetails:
    return ServiceDetails(
        row.id,
        row.name,
        ServiceType(row.type),
        row.api_key,
        row.application_id,
        row.created_at,
        row.example_count,
        row.revision,
        row.embedder,
    )


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, email: str, name: str | None, password_hash: str, role: Role) -> AccountRecord:
        row = AccountTable(
            id=new_id(),
            email=email,
            email_folded=email.casefold(),
            name=name,
            password_hash=password_hash,
            role=role.value,
        )
        self.session.add(row)
        self.session.flush()
        return _account(row)

    def by_id(self, account_id: str) -> AccountRecord | None:
        if not _storable(account_id):
            return None
        row = self.session.get(AccountTable, account_id)
        return _account(row) if row else None

    def by_email(self, email: str) -> tuple[AccountRecord, str] | None:
        """The account and its password hash."""
        if not _storable(email):
            return None
        row = self.session.scalar(select(AccountTable).where(AccountTable.email_folded == email.casefold()))
        return (_account(row), row.password_hash) if row else None

    def all(self) -> list[AccountRecord]:
        return [_account(row) for row in self.session.scalars(select(AccountTable).order_by(AccountTable.id))]

    def owner(self) -> AccountRecord | None:
        row = self.session.scalar(select(AccountTable).where(AccountTable.role == Role.OWNER.value).limit(1))
        return _account(row) if row else None

    def set_role(self, account_id: str, role: Role) -> None:
        self.session.execute(update(AccountTable).where(AccountTable.id == account_id).values(role=role.value))

    def set_password(self, account_id: str, password_hash: str) -> None:
        self.session.execute(
            update(AccountTable).where(AccountTable.id == account_id).values(password_hash=password_hash)
        )

    def delete(self, account_id: str) -> None:
        self.session.execute(delete(AccountTable).where(AccountTable.id == account_id))


class ApplicationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, name: str) -> ApplicationRecord:
        row = ApplicationTable(id=new_id(), name=name, name_folded=name.casefold())
        self.session.add(row)
        self.session.flush()
        return _application(row)

    def by_id(self, application_id: str) -> ApplicationRecord | None:
        if not _storable(application_id):
            return None
        row = self.session.get(ApplicationTable, application_id)
        return _application(row) if row else None

    def by_name(self, name: str) -> ApplicationRecord | None:
        if not _storable(name):
            return None
        row = self.session.scalar(select(ApplicationTable).where(ApplicationTable.name_folded == name.casefold()))
        return _application(row) if row else None

    def all(self) -> list[ApplicationRecord]:
        rows = self.session.scalars(select(ApplicationTable).order_by(ApplicationTable.id))
        return [_application(row) for row in rows]

    def of_account(self, account_id: str) -> list[tuple[ApplicationRecord, Role]]:
        rows = self.session.execute(
            select(ApplicationTable, MembershipTable.role)
            .join(MembershipTable, MembershipTable.application_id == ApplicationTable.id)
            .where(MembershipTable.account_id == account_id)
            .order_by(ApplicationTable.id)
        )
        return [(_application(row[0]), Role(row[1])) for row in rows]

    def service_counts(self) -> dict[str, int]:
        rows = self.session.execute(
            select(ServiceTable.application_id, func.count()).group_by(ServiceTable.application_id)
        )
        return {row[0]: int(row[1]) for row in rows if row[0] is not None}

    def rename(self, application_id: str, name: str) -> None:
        self.session.execute(
            update(ApplicationTable)
            .where(ApplicationTable.id == application_id)
            .values(name=name, name_folded=name.casefold())
        )

    def delete(self, application_id: str) -> None:
        """Its services first (no foreign key there, see tables.py), which cascade to their collections."""
        self.session.execute(delete(ServiceTable).where(ServiceTable.application_id == application_id))
        self.session.execute(delete(ApplicationTable).where(ApplicationTable.id == application_id))

    def default_id(self) -> str:
        """The application that services made without one go to (the CLI's `service create`)."""
        found = self.by_name(DEFAULT_APPLICATION)
        return found.id if found else self.add(DEFAULT_APPLICATION).id


class MembershipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def role(self, application_id: str, account_id: str) -> Role | None:
        if not (_storable(application_id) and _storable(account_id)):
            return None
        value = self.session.scalar(
            select(MembershipTable.role).where(
                MembershipTable.application_id == application_id, MembershipTable.account_id == account_id
            )
        )
        return Role(value) if value else None

    def members(self, application_id: str) -> list[MemberRecord]:
        rows = self.session.execute(
            select(AccountTable, MembershipTable.role)
            .join(MembershipTable, MembershipTable.account_id == AccountTable.id)
            .where(MembershipTable.application_id == application_id)
            .order_by(MembershipTable.created_at, AccountTable.id)
        )
        return [MemberRecord(_account(row[0]), Role(row[1])) for row in rows]

    def add(self, application_id: str, account_id: str, role: Role) -> None:
        self.session.add(MembershipTable(application_id=application_id, account_id=account_id, role=role.value))
        self.session.flush()

    def set_role(self, application_id: str, account_id: str, role: Role) -> None:
        self.session.execute(
            update(MembershipTable)
            .where(MembershipTable.application_id == application_id, MembershipTable.account_id == account_id)
            .values(role=role.value)
        )

    def owners(self, application_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(MembershipTable.account_id).where(
                    MembershipTable.application_id == application_id, MembershipTable.role == Role.OWNER.value
                )
            )
        )

    def remove(self, application_id: str, account_id: str) -> None:
        self.session.execute(
            delete(MembershipTable).where(
                MembershipTable.application_id == application_id, MembershipTable.account_id == account_id
            )
        )


class AdminSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token_hash: str, account_id: str, csrf_token: str, expires_at: datetime) -> None:
        self.session.add(
            AdminSessionTable(
                token_hash=token_hash, account_id=account_id, csrf_token=csrf_token, expires_at=expires_at
            )
        )
        self.session.flush()

    def find(self, token_hash: str) -> tuple[AccountRecord, str, datetime] | None:
        """(account, CSRF token, expiry) of a session."""
        row = self.session.execute(
            select(AccountTable, AdminSessionTable.csrf_token, AdminSessionTable.expires_at)
            .join(AdminSessionTable, AdminSessionTable.account_id == AccountTable.id)
            .where(AdminSessionTable.token_hash == token_hash)
        ).first()
        return (_account(row[0]), row[1], row[2]) if row else None

    def delete(self, token_hash: str) -> None:
        self.session.execute(delete(AdminSessionTable).where(AdminSessionTable.token_hash == token_hash))

    def delete_of_account(self, account_id: str) -> None:
        self.session.execute(delete(AdminSessionTable).where(AdminSessionTable.account_id == account_id))

    def delete_expired(self, now: datetime) -> None:
        self.session.execute(delete(AdminSessionTable).where(AdminSessionTable.expires_at <= now))


class SetupCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def replace(self, code_hash: str) -> None:
        self.session.execute(delete(SetupCodeTable))
        self.session.add(SetupCodeTable(id=1, code_hash=code_hash))
        self.session.flush()

    def current(self) -> str | None:
        return self.session.scalar(select(SetupCodeTable.code_hash).where(SetupCodeTable.id == 1))

    def clear(self) -> None:
        self.session.execute(delete(SetupCodeTable))


class AdminServiceRepository:
    """Services as the admin side sees them: with their application, creation date and example count."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, service_id: str) -> ServiceDetails | None:
        if not _storable(service_id):
            return None
        row = self.session.get(ServiceTable, service_id)
        return _service(row) if row else None

    def of_application(self, application_id: str) -> list[ServiceDetails]:
        rows = self.session.scalars(
            select(ServiceTable).where(ServiceTable.application_id == application_id).order_by(ServiceTable.id)
        )
        return [_service(row) for row in rows]

    def all(self) -> list[ServiceDetails]:
        return [_service(row) for row in self.session.scalars(select(ServiceTable).order_by(ServiceTable.id))]

    def rename(self, service_id: str, name: str) -> None:
        self.session.execute(
            update(ServiceTable).where(ServiceTable.id == service_id).values(name=name, name_folded=name.casefold())
        )

    def subject_count(self, service_id: str) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(SubjectTable).where(SubjectTable.service_id == service_id)
            )
            or 0
        )


class UsageRepository:
    """Requests per service per day. Counts arrive in batches (see services/usage.py)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, counts: Iterable[tuple[str, date, int]]) -> None:
        """Adds to the stored counts in one statement (an upsert on both backends); rows of services
        deleted meanwhile are dropped."""
        rows = [{"service_id": s, "day": d, "requests": n} for s, d, n in counts]
        if not rows:
            return
        existing = set(
            self.session.scalars(select(ServiceTable.id).where(ServiceTable.id.in_({r["service_id"] for r in rows})))
        )
        rows = [row for row in rows if row["service_id"] in existing]
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ServiceUsageTable)
        statement = statement.on_conflict_do_update(
            index_elements=[ServiceUsageTable.service_id, ServiceUsageTable.day],
            set_={"requests": ServiceUsageTable.requests + statement.excluded.requests},
        )
        self.session.execute(statement, rows)  # executemany: one compiled statement, a row per service-day

    def per_day(self, service_id: str, since: date) -> dict[date, int]:
        rows = self.session.execute(
            select(ServiceUsageTable.day, ServiceUsageTable.requests).where(
                ServiceUsageTable.service_id == service_id, ServiceUsageTable.day >= since
            )
        )
        return {row.day: int(row.requests) for row in rows}
