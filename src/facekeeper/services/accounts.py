"""Accounts and the first owner: created by `facekeeper admin create-owner`, or by the first sign-up on a
server without owner, which must present the one-time setup code the server printed at start-up.

The code is 60 random bits shown as XXXX-XXXX-XXXX; only its SHA-256 is stored, it is replaced at every
start of a server that has no owner, and it is deleted in the transaction that creates the owner.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy.exc import IntegrityError

from facekeeper.domain import AccountRecord, Role
from facekeeper.errors import Error, FacekeeperError
from facekeeper.services.passwords import Passwords, validate_password
from facekeeper.storage.admin import AccountRepository, AdminSessionRepository, SetupCodeRepository
from facekeeper.storage.db import Database

# No spaces, control characters (NUL included: PostgreSQL cannot store it), `;`, `/` or `\\`.
_EMAIL = re.compile(r"[^@\s;/\\\x00-\x1f\x7f]+@[^@\s;/\\\x00-\x1f\x7f]+\.[^@\s;/\\\x00-\x1f\x7f]+")
MAX_EMAIL = 254
MAX_NAME = 100
# No 0/O or 1/I: the code is read off a terminal and typed by hand.
SETUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def validate_email(email: object) -> str:
    if not isinstance(email, str) or len(email.strip()) > MAX_EMAIL or not _EMAIL.fullmatch(email.strip()):
        raise FacekeeperError(Error.EMAIL_INVALID)
    return email.strip()


def validate_account_name(name: object) -> str | None:
    if name is None or (isinstance(name, str) and not name.strip()):
        return None
    if not isinstance(name, str) or len(name) > MAX_NAME or "\x00" in name:
        raise FacekeeperError(Error.ACCOUNT_NAME_INVALID)
    return name.strip()


def _code_hash(code: str) -> str:
    normalised = re.sub(r"[\s-]", "", code).upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_setup_code() -> str:
    chars = "".join(secrets.choice(SETUP_ALPHABET) for _ in range(12))
    return f"{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"


class AccountService:
    def __init__(self, db: Database, passwords: Passwords) -> None:
        self.db = db
        self.passwords = passwords

    # --- the first owner -----------------------------------------------------------------------------

    def owner_exists(self) -> bool:
        with self.db.transaction() as session:
            return AccountRepository(session).owner() is not None

    def issue_setup_code(self) -> str | None:
        """A new one-time code when the server has no owner (the previous code stops working), else None."""
        code = new_setup_code()
        with self.db.transaction(write=True) as session:
            codes = SetupCodeRepository(session)
            if AccountRepository(session).owner() is not None:
                codes.clear()
                return None
            codes.replace(_code_hash(code))
        return code

    def sign_up_owner(self, setup_code: object, email: object, password: object, name: object = None) -> AccountRecord:
        """The first sign-up: the right code makes the account the owner, and the code is used up."""
        email, name = validate_email(email), validate_account_name(name)
        password_hash = self.passwords.hash(validate_password(password))  # slow: outside the transaction
        with self.db.transaction(write=True) as session:
            accounts = AccountRepository(session)
            if accounts.owner() is not None:
                raise FacekeeperError(Error.OWNER_EXISTS)
            codes = SetupCodeRepository(session)
            stored = codes.current()
            given = _code_hash(setup_code) if isinstance(setup_code, str) else ""
            if stored is None or not hmac.compare_digest(stored, given):
                raise FacekeeperError(Error.SETUP_CODE_WRONG)
            codes.clear()
            return self._add(accounts, email, name, password_hash, Role.OWNER)

    def create_owner(self, email: object, password: object, name: object = None) -> AccountRecord:
        """`facekeeper admin create-owner`: whoever runs the CLI on the server's data needs no code."""
        return self.create(email, password, Role.OWNER, name)

    # --- accounts ------------------------------------------------------------------------------------

    def create(self, email: object, password: object, role: Role, name: object = None) -> AccountRecord:
        """One owner at most: a second OWNER is refused (make it an administrator, or transfer)."""
        email, name = validate_email(email), validate_account_name(name)
        password_hash = self.passwords.hash(validate_password(password))
        with self.db.transaction(write=True) as session:
            accounts = AccountRepository(session)
            if role is Role.OWNER and accounts.owner() is not None:
                raise FacekeeperError(Error.OWNER_EXISTS)
            account = self._add(accounts, email, name, password_hash, role)
            if role is Role.OWNER:
                SetupCodeRepository(session).clear()
            return account

    def _add(
        self, accounts: AccountRepository, email: str, name: str | None, password_hash: str, role: Role
    ) -> AccountRecord:
        if accounts.by_email(email) is not None:
            raise FacekeeperError(Error.EMAIL_TAKEN)
        try:
            return accounts.add(email, name, password_hash, role)
        except IntegrityError:  # created concurrently after our lookup
            raise FacekeeperError(Error.EMAIL_TAKEN) from None

    def authenticate(self, email: str, password: str) -> AccountRecord | None:
        with self.db.transaction() as session:
            found = AccountRepository(session).by_email(email) if isinstance(email, str) else None
        account, password_hash = found if found else (None, None)
        if not self.passwords.verify(password_hash, password if isinstance(password, str) else ""):
            return None
        return account

    def everyone(self) -> list[AccountRecord]:
        with self.db.transaction() as session:
            return AccountRepository(session).all()

    def find(self, email_or_id: str) -> AccountRecord:
        with self.db.transaction() as session:
            return self._find(AccountRepository(session), email_or_id)

    @staticmethod
    def _find(accounts: AccountRepository, email_or_id: str) -> AccountRecord:
        found = accounts.by_email(email_or_id)
        account = found[0] if found else accounts.by_id(email_or_id)
        if account is None:
            raise FacekeeperError(Error.ACCOUNT_NOT_FOUND, account=email_or_id)
        return account

    def set_role(self, email_or_id: str, role: Role) -> AccountRecord:
        """Promoting an account to OWNER demotes the current owner to ADMINISTRATOR (§9.2); the owner
        cannot be demoted directly (there must be one): promote someone else instead."""
        with self.db.transaction(write=True) as session:
            accounts = AccountRepository(session)
            account = self._find(accounts, email_or_id)
            if account.role is role:
                return account
            if account.role is Role.OWNER:
                raise FacekeeperError(Error.ACTION_NOT_ALLOWED, reason="make another account the owner first")
            if role is Role.OWNER:
                current = accounts.owner()
                if current is not None:
                    accounts.set_role(current.id, Role.ADMINISTRATOR)
            accounts.set_role(account.id, role)
            return AccountRecord(account.id, account.email, account.name, role, account.created_at)

    def set_password(self, email_or_id: str, password: object) -> AccountRecord:
        """A new password signs the account out everywhere."""
        password_hash = self.passwords.hash(validate_password(password))
        with self.db.transaction(write=True) as session:
            accounts = AccountRepository(session)
            account = self._find(accounts, email_or_id)
            accounts.set_password(account.id, password_hash)
            AdminSessionRepository(session).delete_of_account(account.id)
            return account

    def delete(self, email_or_id: str) -> AccountRecord:
        """Its sessions and memberships go with it; the owner cannot be deleted (§9.2)."""
        with self.db.transaction(write=True) as session:
            accounts = AccountRepository(session)
            account = self._find(accounts, email_or_id)
            if account.role is Role.OWNER:
                raise FacekeeperError(Error.ACTION_NOT_ALLOWED, reason="Global owner cannot be removed!")
            accounts.delete(account.id)
            return account

    # --- as a signed-in caller (the admin API): §9.2's global rules ---------------------------------

    def _caller(self, accounts: AccountRepository, caller: AccountRecord) -> AccountRecord:
        fresh = accounts.by_id(caller.id)
        if fresh is None:
            raise FacekeeperError(Error.NOT_SIGNED_IN)
        return fresh

    def _managers_only(self, accounts: AccountRepository, caller: AccountRecord) -> AccountRecord:
        fresh = self._caller(accounts, caller)
        if fresh.role not in (Role.OWNER, Role.ADMINISTRATOR):
            raise FacekeeperError(Error.ACCESS_DENIED)
        return fresh

    def list_for(self, caller: AccountRecord) -> list[AccountRecord]:
        """Every account, for the global owner and administrators (to find whom to add to an application)."""
        with self.db.transaction() as session:
            accounts = AccountRepository(session)
            self._managers_only(accounts, caller)
            return accounts.all()

    def create_for(
        self, caller: AccountRecord, email: object, password: object, role: Role, name: object
    ) -> AccountRecord:
        """Global owner and administrators; only the owner may make another OWNER (a transfer)."""
        with self.db.transaction() as session:
            fresh = self._managers_only(AccountRepository(session), caller)
        if role is Role.OWNER and fresh.role is not Role.OWNER:
            raise FacekeeperError(Error.ACCESS_DENIED)
        if role is Role.OWNER:
            account = self.create(email, password, Role.USER, name)
            return self.set_role(account.id, Role.OWNER)
        return self.create(email, password, role, name)

    def set_role_for(self, caller: AccountRecord, account_id: str, role: Role) -> AccountRecord:
        """Nobody changes their own role (code 14); an administrator neither grants OWNER nor changes the owner."""
        with self.db.transaction() as session:
            accounts = AccountRepository(session)
            fresh = self._managers_only(accounts, caller)
            target = accounts.by_id(account_id)
        if target is None:
            raise FacekeeperError(Error.ACCOUNT_NOT_FOUND, account=account_id)
        if target.id == fresh.id:
            raise FacekeeperError(Error.OWN_ROLE)
        if fresh.role is not Role.OWNER and (role is Role.OWNER or target.role is Role.OWNER):
            raise FacekeeperError(Error.ACCESS_DENIED)
        return self.set_role(target.id, role)

    def delete_for(self, caller: AccountRecord, account_id: str) -> AccountRecord:
        """The global owner and administrators delete accounts (an administrator not the owner); anyone
        may delete their own account, except the owner."""
        with self.db.transaction() as session:
            accounts = AccountRepository(session)
            fresh = self._caller(accounts, caller)
            target = accounts.by_id(account_id)
        if target is None:
            raise FacekeeperError(Error.ACCOUNT_NOT_FOUND, account=account_id)
        if target.id != fresh.id and fresh.role not in (Role.OWNER, Role.ADMINISTRATOR):
            raise FacekeeperError(Error.ACCESS_DENIED)
        return self.delete(target.id)

    def change_own_password(self, caller: AccountRecord, old_password: object, new_password: object) -> AccountRecord:
        """The old password is checked (code 18); every session of the account ends, this one included."""
        validate_password(new_password)
        with self.db.transaction() as session:
            accounts = AccountRepository(session)
            fresh = self._caller(accounts, caller)
            found = accounts.by_email(fresh.email)
        stored = found[1] if found else None
        if not self.passwords.verify(stored, old_password if isinstance(old_password, str) else ""):
            raise FacekeeperError(Error.PASSWORD_WRONG)
        return self.set_password(fresh.id, new_password)
