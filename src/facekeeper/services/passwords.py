"""Password hashing: argon2id with OWASP's recommended minimum cost by default (19 MiB, 2 passes, one
lane: ~50 ms here), set by `password_hash_memory_kib` and `password_hash_time_cost`. A stored hash
carries its own parameters, so changing them never locks anyone out."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from facekeeper.errors import Error, FacekeeperError

MIN_PASSWORD = 8
MAX_PASSWORD = 255


def validate_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise FacekeeperError(Error.PASSWORD_INVALID)
    return password


class Passwords:
    def __init__(self, memory_kib: int = 19456, time_cost: int = 2) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._decoy: str | None = None

    def hash(self, password: object) -> str:
        return self._hasher.hash(validate_password(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """False for a wrong password, a broken hash, or no account (`password_hash` None): an unknown
        email is checked against a decoy hash, so the time taken does not tell which accounts exist."""
        if self._decoy is None:
            self._decoy = self._hasher.hash("facekeeper decoy password")
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
