"""Subjects of a recognition service: create, list, rename or merge, delete (CompreFace §4.1)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from facekeeper.domain import ServiceRecord, has_forbidden_name_characters
from facekeeper.errors import Error, FacekeeperError
from facekeeper.index.changes import Removed, Renamed, Reset
from facekeeper.services.collection import FaceCollections
from facekeeper.services.subject_list import SubjectListCache
from facekeeper.storage.bulk import BulkRepository
from facekeeper.storage.repositories import SubjectRepository


def check_no_nul(name: str) -> None:
    """PostgreSQL cannot store NUL in text, so no store holds such a name: refuse it on every route."""
    if "\x00" in name:
        raise FacekeeperError(Error.SUBJECT_NAME_NUL)


def validate_subject_name(name: object) -> str:
    """The rules of CompreFace's SubjectDto, first failure reported: not blank, 1-50 chars, no ; / \\."""
    if not isinstance(name, str) or not name.strip():
        raise FacekeeperError(Error.SUBJECT_NAME_EMPTY)
    if len(name) > 50:
        raise FacekeeperError(Error.SUBJECT_NAME_SIZE)
    if has_forbidden_name_characters(name):
        raise FacekeeperError(Error.SUBJECT_NAME_CHARACTERS)
    check_no_nul(name)
    return name


class SubjectService:
    def __init__(self, collections: FaceCollections) -> None:
        self.collections = collections
        self.listing = SubjectListCache(collections.db)

    def create(self, service: ServiceRecord, name: object) -> str:
        name = validate_subject_name(name)
        try:
            with self.collections.write(service) as write:
                if write.subjects.find(service.id, name) is not None:
                    raise FacekeeperError(Error.SUBJECT_ALREADY_EXISTS)
                return write.subjects.add(service.id, name).name
        except IntegrityError:  # created concurrently after our lookup
            raise FacekeeperError(Error.SUBJECT_ALREADY_EXISTS) from None

    def ensure(self, service: ServiceRecord, names: list[str]) -> int:
        """Create those of `names` that do not exist yet (ignoring case); how many were new. For imports,
        which may bring subjects without examples; names follow enrolment's rules, not the API's."""
        with self.collections.write(service) as write:
            bulk = BulkRepository(write.session)
            existing = len(bulk.subjects(service.id, names))
            return len(bulk.add_subjects(service.id, names)) - existing

    def page(self, service: ServiceRecord, search: str, page: int, size: int) -> tuple[list[tuple[str, int]], int]:
        """A page of (subject, example count) whose names contain `search` (the admin's collection page)."""
        check_no_nul(search)
        with self.collections.db.transaction() as session:
            return SubjectRepository(session).page(service.id, search, page, size)

    def list(self, service: ServiceRecord) -> list[str]:
        with self.collections.db.transaction() as session:
            return SubjectRepository(session).names(service.id)

    def cached_names_json(self, service: ServiceRecord) -> bytes | None:
        """`names_json` when it is in memory and current (no database work: fit for the event loop)."""
        return self.listing.current(service)

    def names_json(self, service: ServiceRecord) -> bytes:
        """Every name in creation order as a JSON array, read once per revision of the collection."""
        return self.listing.names_json(service)

    def rename(self, service: ServiceRecord, old: str, new: object) -> bool:
        """Rename, or merge into an existing subject whose name matches ignoring case."""
        new = validate_subject_name(new)
        check_no_nul(old)
        if new == old:
            return False
        with self.collections.write(service) as write:
            source = write.subjects.find(service.id, old)
            if source is None:
                raise FacekeeperError(Error.SUBJECT_NOT_FOUND, subject=old)
            target = write.subjects.find(service.id, new)
            if target is None or target.id == source.id:
                write.subjects.rename(source.id, new)
                final_name = new
            else:
                write.examples.move(source.id, target.id)
                write.subjects.delete(source.id)
                final_name = target.name
            write.record(Renamed(source.name, final_name))
        return True

    def delete(self, service: ServiceRecord, name: str) -> str:
        check_no_nul(name)
        with self.collections.write(service) as write:
            subject = write.subjects.find(service.id, name)
            if subject is None:
                raise FacekeeperError(Error.SUBJECT_NOT_FOUND, subject=name)
            examples = write.examples.count_of_subject(subject.id)
            write.subjects.delete(subject.id)  # cascades to its examples and their images (D7)
            if examples:
                write.record(Removed(subject=subject.name), examples_delta=-examples)
            return subject.name

    def delete_all(self, service: ServiceRecord) -> int:
        with self.collections.write(service) as write:
            deleted = write.subjects.delete_all(service.id)
            if deleted:
                write.record(Reset())
            return deleted
