"""Applications, their members and their services, with the roles of §9.2 checked on every call.

Who may do what (the caller is an account, its global role from the database on every request):
- global OWNER and ADMINISTRATOR act as the owner of every application, and may create applications;
- a global USER sees only the applications they are a member of, with their member role there:
  OWNER (everything: rename, delete, members), ADMINISTRATOR (create and manage services and their
  collections), USER (read only: services, keys, collections, statistics).
Not being a member answers 403 `Access denied`, exactly like too low a role.

`actor` None is the operator at the server's CLI (`facekeeper admin ...`), who may do everything, as
anyone with the data directory or the database URL can anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facekeeper.domain import (
    AccountRecord,
    ApplicationRecord,
    MemberRecord,
    Role,
    ServiceDetails,
    ServiceType,
    has_forbidden_name_characters,
)
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.api_keys import new_api_key, validate_service_name
from facekeeper.services.usage import UsageCounter
from facekeeper.storage.admin import (
    AccountRepository,
    AdminServiceRepository,
    ApplicationRepository,
    MembershipRepository,
)
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ServiceRepository

# CompreFace's admin API spells the types so, and only so (`Model Type '<v>' doesn't exist!` otherwise).
SERVICE_TYPE_NAMES = {"RECOGNITION": ServiceType.RECOGNITION, "DETECTION": ServiceType.DETECTION}
SERVICE_TYPE_NAMES["VERIFY"] = ServiceType.VERIFICATION
MAX_STATS_DAYS = 366


def service_type_name(service_type: ServiceType) -> str:
    return "VERIFY" if service_type is ServiceType.VERIFICATION else service_type.name


def validate_application_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FacekeeperError(Error.APPLICATION_NAME_INVALID, details="cannot be empty")
    if len(name) > 50:
        raise FacekeeperError(Error.APPLICATION_NAME_INVALID, details="size must be between 1 and 50")
    if has_forbidden_name_characters(name) or "\x00" in name:
        raise FacekeeperError(Error.APPLICATION_NAME_INVALID, details="cannot contain ';', '/' or '\\'")
    return name


def _valid_service_name(name: object) -> str:
    """The CLI's rules (services/api_keys.py), and no NUL: PostgreSQL cannot store it."""
    if not isinstance(name, str):
        raise FacekeeperError(Error.SERVICE_NAME_INVALID, details="cannot be empty")
    validate_service_name(name)
    if "\x00" in name:
        raise FacekeeperError(Error.SERVICE_NAME_INVALID, details="cannot contain the NUL character")
    return name


def parse_role(text: object) -> Role:
    role = Role.parse(text)
    if role is None:
        raise FacekeeperError(Error.ROLE_INVALID, role=text)
    return role


@dataclass(frozen=True)
class ApplicationView:
    application: ApplicationRecord
    role: Role  # the caller's effective role in it
    service_count: int


@dataclass(frozen=True)
class ServiceView:
    service: ServiceDetails
    role: Role  # the caller's effective role in its application
    subject_count: int | None = None


@dataclass(frozen=True)
class DayCount:
    day: date
    requests: int


class ApplicationService:
    def __init__(self, db: Database, usage: UsageCounter, embedder: str = "sface") -> None:
        """`embedder`: the server's active embedder, which new recognition collections are built with."""
        self.db = db
        self.usage = usage
        self.embedder = embedder

    # --- who may ---------------------------------------------------------------------------------

    @staticmethod
    def _fresh(session: Session, actor: AccountRecord | None) -> AccountRecord | None:
        """The caller as the database says now (a role changed in another process counts at once)."""
        if actor is None:
            return None
        account = AccountRepository(session).by_id(actor.id)
        if account is None:
            raise FacekeeperError(Error.NOT_SIGNED_IN)
        return account

    def _role(self, session: Session, actor: AccountRecord | None, application_id: str | None) -> Role | None:
        actor = self._fresh(session, actor)
        if actor is None or actor.role in (Role.OWNER, Role.ADMINISTRATOR):
            return Role.OWNER
        if application_id is None:
            return None
        return MembershipRepository(session).role(application_id, actor.id)

    def _application(
        self, session: Session, actor: AccountRecord | None, application_id: str, need: Role
    ) -> tuple[ApplicationRecord, Role]:
        application = ApplicationRepository(session).by_id(application_id)
        if application is None:
            raise FacekeeperError(Error.APPLICATION_NOT_FOUND, application=application_id)
        role = self._role(session, actor, application_id)
        if role is None or not role.at_least(need):
            raise FacekeeperError(Error.ACCESS_DENIED)
        return application, role

    def _service(self, session: Session, actor: AccountRecord | None, service_id: str, need: Role) -> ServiceView:
        service = AdminServiceRepository(session).get(service_id)
        if service is None:
            raise FacekeeperError(Error.SERVICE_UNKNOWN, name=service_id)
        role = self._role(session, actor, service.application_id)
        if role is None or not role.at_least(need):
            raise FacekeeperError(Error.ACCESS_DENIED)
        return ServiceView(service, role)

    # --- applications ----------------------------------------------------------------------------

    def visible(self, actor: AccountRecord | None) -> list[ApplicationView]:
        with self.db.transaction() as session:
            actor = self._fresh(session, actor)
            applications = ApplicationRepository(session)
            counts = applications.service_counts()
            if actor is None or actor.role in (Role.OWNER, Role.ADMINISTRATOR):
                pairs = [(application, Role.OWNER) for application in applications.all()]
            else:
                pairs = applications.of_account(actor.id)
            return [ApplicationView(a, role, counts.get(a.id, 0)) for a, role in pairs]

    def get(self, actor: AccountRecord | None, application_id: str) -> ApplicationView:
        with self.db.transaction() as session:
            application, role = self._application(session, actor, application_id, Role.USER)
            count = ApplicationRepository(session).service_counts().get(application.id, 0)
            return ApplicationView(application, role, count)

    def create(self, actor: AccountRecord | None, name: object) -> ApplicationView:
        """Global owners and administrators only; the creator becomes the application's owner (the CLI's
        operator makes one without members: global owners and administrators see it anyway)."""
        name = validate_application_name(name)
        try:
            with self.db.transaction(write=True) as session:
                actor = self._fresh(session, actor)
                if actor is not None and actor.role not in (Role.OWNER, Role.ADMINISTRATOR):
                    raise FacekeeperError(Error.ACCESS_DENIED)
                applications = ApplicationRepository(session)
                if applications.by_name(name) is not None:
                    raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name)
                application = applications.add(name)
                if actor is not None:
                    MembershipRepository(session).add(application.id, actor.id, Role.OWNER)
                return ApplicationView(application, Role.OWNER, 0)
        except IntegrityError:
            raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name) from None

    def find(self, name_or_id: str) -> ApplicationRecord:
        """An application by name (any case) or id, for the CLI."""
        with self.db.transaction() as session:
            applications = ApplicationRepository(session)
            found = applications.by_name(name_or_id) or applications.by_id(name_or_id)
        if found is None:
            raise FacekeeperError(Error.APPLICATION_NOT_FOUND, application=name_or_id)
        return found

    def rename(self, actor: AccountRecord | None, application_id: str, name: object) -> ApplicationView:
        name = validate_application_name(name)
        try:
            with self.db.transaction(write=True) as session:
                application, role = self._application(session, actor, application_id, Role.OWNER)
                applications = ApplicationRepository(session)
                other = applications.by_name(name)
                if other is not None and other.id != application.id:
                    raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name)
                applications.rename(application.id, name)
                count = applications.service_counts().get(application.id, 0)
                return ApplicationView(ApplicationRecord(application.id, name, application.created_at), role, count)
        except IntegrityError:
            raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name) from None

    def delete(self, actor: AccountRecord | None, application_id: str) -> ApplicationRecord:
        """With its services, their keys and their collections."""
        with self.db.transaction(write=True) as session:
            application, _ = self._application(session, actor, application_id, Role.OWNER)
            ApplicationRepository(session).delete(application.id)
            return application

    # --- members ---------------------------------------------------------------------------------

    def members(self, actor: AccountRecord | None, application_id: str) -> list[MemberRecord]:
        with self.db.transaction() as session:
            self._application(session, actor, application_id, Role.USER)
            return MembershipRepository(session).members(application_id)

    def add_member(
        self, actor: AccountRecord | None, application_id: str, email: object, role_name: object
    ) -> MemberRecord:
        role = parse_role(role_name)
        with self.db.transaction(write=True) as session:
            application, _ = self._application(session, actor, application_id, Role.OWNER)
            found = AccountRepository(session).by_email(email) if isinstance(email, str) else None
            if found is None:
                raise FacekeeperError(Error.ACCOUNT_NOT_FOUND, account=email)
            account = found[0]
            members = MembershipRepository(session)
            if members.role(application.id, account.id) is not None:
                raise FacekeeperError(Error.ALREADY_MEMBER, account=account.email, application=application.name)
            if role is Role.OWNER:
                self._demote_owners(members, application.id)
            members.add(application.id, account.id, role)
            return MemberRecord(account, role)

    @staticmethod
    def _demote_owners(members: MembershipRepository, application_id: str) -> None:
        """§9.2: making someone the application's owner makes the previous owner an administrator."""
        for owner_id in members.owners(application_id):
            members.set_role(application_id, owner_id, Role.ADMINISTRATOR)

    def set_member_role(
        self, actor: AccountRecord | None, application_id: str, account_id: str, role_name: object
    ) -> MemberRecord:
        role = parse_role(role_name)
        with self.db.transaction(write=True) as session:
            application, _ = self._application(session, actor, application_id, Role.OWNER)
            if actor is not None and account_id == actor.id:
                raise FacekeeperError(Error.OWN_ROLE)
            members = MembershipRepository(session)
            current = members.role(application.id, account_id)
            account = AccountRepository(session).by_id(account_id)
            if current is None or account is None:
                raise FacekeeperError(Error.ACCOUNT_NOT_FOUND, account=account_id)
            if current is Role.OWNER and role is not Role.OWNER:
                raise FacekeeperError(Error.ACTION_NOT_ALLOWED, reason="make another member the owner first")
            if role is Role.OWNER and current is not Role.OWNER:
                self._demote_owners(members, application.id)
            members.set_role(application.id, account_id, role)
            return MemberRecord(account, role)

    def remove_member(self, actor: AccountRecord | None, application_id: str, account_id: str) -> MemberRecord:
        """The owner removes members; any member may leave. Access ends with this transaction."""
        with self.db.transaction(write=True) as session:
            need = Role.USER if actor is not None and account_id == actor.id else Role.OWNER
            application, _ = self._application(session, actor, application_id, need)
            members = MembershipRepository(session)
            current = members.role(application.id, account_id)
            account = AccountRepository(session).by_id(account_id)
            if current is None or account is None:
                raise FacekeeperError(Error.ACCOUNT_NOT_FOUND, account=account_id)
            if current is Role.OWNER:
                raise FacekeeperError(
                    Error.ACTION_NOT_ALLOWED,
                    reason="the application's owner cannot be removed; make another member the owner first",
                )
            members.remove(application.id, account_id)
            return MemberRecord(account, current)

    # --- services --------------------------------------------------------------------------------

    def services(self, actor: AccountRecord | None, application_id: str) -> list[ServiceDetails]:
        with self.db.transaction() as session:
            self._application(session, actor, application_id, Role.USER)
            return AdminServiceRepository(session).of_application(application_id)

    def create_service(
        self, actor: AccountRecord | None, application_id: str, name: object, type_name: object
    ) -> ServiceDetails:
        """`actor` None: the CLI operator."""
        service_type = SERVICE_TYPE_NAMES.get(type_name) if isinstance(type_name, str) else None
        if service_type is None:
            raise FacekeeperError(Error.SERVICE_TYPE_INVALID, type=type_name)
        name = _valid_service_name(name)
        try:
            with self.db.transaction(write=True) as session:
                self._application(session, actor, application_id, Role.ADMINISTRATOR)
                services = ServiceRepository(session)
                if services.by_name(name) is not None:
                    raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name)
                record = services.add(name, service_type, new_api_key(), application_id, self.embedder)
                created = AdminServiceRepository(session).get(record.id)
                assert created is not None
                return created
        except IntegrityError:
            raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name) from None

    def service(self, actor: AccountRecord | None, service_id: str, need: Role = Role.USER) -> ServiceView:
        """The service if the caller has at least `need` in its application (collections use this)."""
        with self.db.transaction() as session:
            view = self._service(session, actor, service_id, need)
            if need is Role.USER:
                count = AdminServiceRepository(session).subject_count(service_id)
                return ServiceView(view.service, view.role, count)
            return view

    def rename_service(self, actor: AccountRecord | None, service_id: str, name: object) -> ServiceDetails:
        name = _valid_service_name(name)
        try:
            with self.db.transaction(write=True) as session:
                view = self._service(session, actor, service_id, Role.ADMINISTRATOR)
                other = ServiceRepository(session).by_name(name)
                if other is not None and other.id != service_id:
                    raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name)
                repository = AdminServiceRepository(session)
                repository.rename(service_id, name)
                renamed = repository.get(service_id)
                assert renamed is not None and view.service.id == renamed.id
                return renamed
        except IntegrityError:
            raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name) from None

    def delete_service(self, actor: AccountRecord | None, service_id: str) -> ServiceDetails:
        """With its whole collection; its key stops working with this transaction."""
        with self.db.transaction(write=True) as session:
            view = self._service(session, actor, service_id, Role.ADMINISTRATOR)
            ServiceRepository(session).delete(service_id)
            return view.service

    def regenerate_key(self, actor: AccountRecord | None, service_id: str) -> ServiceDetails:
        """A new key; the old one fails from the next request on, in every process (the face API reads
        the key's row on every request)."""
        with self.db.transaction(write=True) as session:
            self._service(session, actor, service_id, Role.ADMINISTRATOR)
            ServiceRepository(session).set_api_key(service_id, new_api_key())
            changed = AdminServiceRepository(session).get(service_id)
            assert changed is not None
            return changed

    def stats(self, actor: AccountRecord | None, service_id: str, days: int) -> list[DayCount]:
        """Face API requests per UTC day, the last `days` days (today included), oldest first."""
        if not 1 <= days <= MAX_STATS_DAYS:
            raise FacekeeperError(Error.CONSTRAINT_VIOLATION, details=f"days must be between 1 and {MAX_STATS_DAYS}; ")
        with self.db.transaction() as session:
            self._service(session, actor, service_id, Role.USER)
        today = datetime.now(UTC).date()
        since = today - timedelta(days=days - 1)
        counts = self.usage.per_day(service_id, since)
        return [DayCount(since + timedelta(days=n), counts.get(since + timedelta(days=n), 0)) for n in range(days)]
