"""Admin sessions: sign in (rate-limited), look a session up on every admin request, sign out.

The browser holds a random token in an HttpOnly cookie; the database holds only the token's SHA-256,
with the session's CSRF token, which the page reads from the sign-in answer (never from a cookie) and
sends back in `X-CSRF-Token` on every state-changing call. Every admin request reads the session and
the account from the database, so a deleted account or a signed-out session stops at once, in every
process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from facekeeper.domain import AccountRecord
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.accounts import AccountService
from facekeeper.services.ratelimit import AttemptLimiter
from facekeeper.storage.admin import AdminSessionRepository
from facekeeper.storage.db import Database


@dataclass(frozen=True)
class AdminSession:
    account: AccountRecord
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class OpenedSession:
    token: str  # goes to the cookie only
    session: AdminSession


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SessionService:
    def __init__(self, db: Database, accounts: AccountService, limiter: AttemptLimiter, lifetime: timedelta) -> None:
        self.db = db
        self.accounts = accounts
        self.limiter = limiter
        self.lifetime = lifetime

    def check_attempts(self, *keys: str) -> None:
        """429 while any key (an email, a client address) has used up its failed attempts."""
        wait = self.limiter.retry_after(keys)
        if wait is not None:
            raise FacekeeperError(Error.TOO_MANY_ATTEMPTS, retry_after=wait)

    def sign_in(self, email: object, password: object, client: str) -> OpenedSession:
        email_text = email.strip() if isinstance(email, str) else ""
        keys = (f"email:{email_text.casefold()}", f"client:{client}")
        self.check_attempts(*keys)
        account = self.accounts.authenticate(email_text, password if isinstance(password, str) else "")
        if account is None:
            self.limiter.failed(keys)
            raise FacekeeperError(Error.SIGN_IN_FAILED)
        self.limiter.succeeded(keys[0])
        return self.open(account)

    def sign_up_owner(
        self, setup_code: object, email: object, password: object, name: object, client: str
    ) -> OpenedSession:
        """The first owner, signed in at once. Wrong codes count as failed attempts of the client."""
        keys = (f"client:{client}",)
        self.check_attempts(*keys)
        try:
            account = self.accounts.sign_up_owner(setup_code, email, password, name)
        except FacekeeperError as error:
            if error.error is Error.SETUP_CODE_WRONG:
                self.limiter.failed(keys)
            raise
        return self.open(account)

    def open(self, account: AccountRecord) -> OpenedSession:
        token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires_at = now + self.lifetime
        with self.db.transaction() as session:
            sessions = AdminSessionRepository(session)
            sessions.delete_expired(now)
            sessions.add(_token_hash(token), account.id, csrf_token, expires_at)
        return OpenedSession(token, AdminSession(account, csrf_token, expires_at))

    def resolve(self, token: str | None) -> AdminSession | None:
        """The live session of a cookie's token, or None (unknown, signed out, expired, account deleted)."""
        if not token:
            return None
        with self.db.transaction() as session:
            found = AdminSessionRepository(session).find(_token_hash(token))
        if found is None:
            return None
        account, csrf_token, expires_at = found
        if _aware(expires_at) <= datetime.now(UTC):
            return None
        return AdminSession(account, csrf_token, _aware(expires_at))

    def close(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as session:
                AdminSessionRepository(session).delete(_token_hash(token))
