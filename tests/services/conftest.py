"""The PostgreSQL fixture of the storage tests, for services that must behave the same on both backends."""

from tests.storage.conftest import postgres_url

__all__ = ["postgres_url"]
