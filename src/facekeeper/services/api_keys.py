"""Services (recognition, detection, verification) and their API keys."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from facekeeper.domain import ServiceRecord, ServiceType, has_forbidden_name_characters, is_canonical_uuid
from facekeeper.errors import Error, FacekeeperError
from facekeeper.storage.admin import ApplicationRepository
from facekeeper.storage.db import Database
from facekeeper.storage.repositories import ServiceRepository, service_by_api_key


def new_api_key() -> str:
    """Random lower-case UUID (D12): never a fixed demo key."""
    return str(uuid.uuid4())


def validate_service_name(name: str) -> str:
    if not name.strip():
        raise FacekeeperError(Error.SERVICE_NAME_INVALID, details="cannot be empty")
    if len(name) > 50:
        raise FacekeeperError(Error.SERVICE_NAME_INVALID, details="size must be between 1 and 50")
    if has_forbidden_name_characters(name):
        raise FacekeeperError(Error.SERVICE_NAME_INVALID, details="cannot contain ';', '/' or '\\'")
    return name


class ApiKeyService:
    def __init__(self, db: Database, embedder: str = "sface") -> None:
        """`embedder`: the server's active embedder, which new recognition collections are built with."""
        self.db = db
        self.embedder = embedder

    def authenticate(self, api_key: str | None, required: ServiceType) -> ServiceRecord:
        """CompreFace's filter: missing header (20), then not a UUID (26), then no such key of this type (10)."""
        if api_key is None:
            raise FacekeeperError(Error.MISSING_API_KEY)
        if not is_canonical_uuid(api_key):
            raise FacekeeperError(Error.API_KEY_NOT_UUID)
        with self.db.read() as connection:
            service = service_by_api_key(connection, api_key)
        if service is None or service.type is not required:
            raise FacekeeperError(Error.SERVICE_NOT_FOUND, type=required.label, api_key=api_key)
        return service

    def by_api_key(self, api_key: str) -> ServiceRecord | None:
        if not is_canonical_uuid(api_key):
            return None
        with self.db.transaction() as session:
            return ServiceRepository(session).by_api_key(api_key)

    def create(self, name: str, service_type: ServiceType, application_id: str | None = None) -> ServiceRecord:
        """In `application_id`, or in the "Default" application (made when missing): the CLI's services are
        the admin API's services too. Names stay unique across applications, so the CLI can name one."""
        validate_service_name(name)
        try:
            return self._create(name, service_type, application_id)
        except IntegrityError:
            # On PostgreSQL another process made this name, or the "Default" application, after our lookups
            # (SQLite serialises writers): look again, which finds either.
            try:
                return self._create(name, service_type, application_id)
            except IntegrityError:
                raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name) from None

    def _create(self, name: str, service_type: ServiceType, application_id: str | None) -> ServiceRecord:
        with self.db.transaction(write=True) as session:
            services = ServiceRepository(session)
            if services.by_name(name) is not None:
                raise FacekeeperError(Error.SERVICE_NAME_TAKEN, name=name)
            if application_id is None:
                application_id = ApplicationRepository(session).default_id()
            return services.add(name, service_type, new_api_key(), application_id, self.embedder)

    def list(self) -> list[ServiceRecord]:
        with self.db.transaction() as session:
            return ServiceRepository(session).all()

    def recognition_service(self, name_or_key: str) -> ServiceRecord:
        """The recognition service a bulk command names, by name or API key."""
        with self.db.transaction() as session:
            service = self._find(ServiceRepository(session), name_or_key)
        if service.type is not ServiceType.RECOGNITION:
            raise FacekeeperError(Error.SERVICE_NOT_RECOGNITION, name=service.name, type=service.type.name.lower())
        return service

    def _find(self, services: ServiceRepository, name_or_key: str) -> ServiceRecord:
        service = services.by_name(name_or_key) or services.by_api_key(name_or_key)
        if service is None:
            raise FacekeeperError(Error.SERVICE_UNKNOWN, name=name_or_key)
        return service

    def delete(self, name_or_key: str) -> ServiceRecord:
        """Deletes the service with its whole collection (subjects, examples, images)."""
        with self.db.transaction() as session:
            services = ServiceRepository(session)
            service = self._find(services, name_or_key)
            services.delete(service.id)
            return service

    def regenerate_key(self, name_or_key: str) -> ServiceRecord:
        """A new key for the same service; the collection stays with it, the old key stops working."""
        with self.db.transaction() as session:
            services = ServiceRepository(session)
            service = self._find(services, name_or_key)
            api_key = new_api_key()
            services.set_api_key(service.id, api_key)
            return replace(service, api_key=api_key)

    def find(self, name_or_key: str) -> ServiceRecord:
        with self.db.transaction() as session:
            return self._find(ServiceRepository(session), name_or_key)
