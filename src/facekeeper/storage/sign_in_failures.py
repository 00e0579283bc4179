"""SQL of the failed sign-in counts (`sign_in_failure`): one row per failure and key hash.

The callers hash their keys; this module never sees an email or an address. Times go in and come out as
aware UTC datetimes (SQLite hands back naive ones, stored in UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from facekeeper.storage.tables import SignInFailureTable

# Expired rows deleted per write at most: a write adds two rows and can always remove more than that, so
# expired rows never pile up, and no write pays for a long backlog at once.
PRUNE_BATCH = 1000


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SignInFailureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def newest(self, key_hash: str, since: datetime, count: int) -> list[datetime]:
        """The times of the key's `count` newest failures after `since`, newest first (an index range)."""
        table = SignInFailureTable
        rows = self.session.execute(
            select(table.failed_at)
            .where(table.key_hash == key_hash, table.failed_at > since)
            .order_by(table.failed_at.desc())
            .limit(count)
        )
        return [_aware(moment) for moment in rows.scalars()]

    def add(self, key_hashes: Iterable[str], failed_at: datetime) -> None:
        rows = [{"key_hash": key_hash, "failed_at": failed_at} for key_hash in key_hashes]
        if rows:
            self.session.execute(insert(SignInFailureTable), rows)

    def clear(self, key_hash: str) -> None:
        self.session.execute(delete(SignInFailureTable).where(SignInFailureTable.key_hash == key_hash))

    def prune(self, before: datetime, batch: int = PRUNE_BATCH) -> int:
        """Deletes up to `batch` failures at or before `before` (out of every window); returns how many."""
        table = SignInFailureTable
        expired = select(table.id).where(table.failed_at <= before).order_by(table.failed_at).limit(batch)
        result = self.session.execute(delete(table).where(table.id.in_(expired)))
        return int(getattr(result, "rowcount", 0) or 0)
