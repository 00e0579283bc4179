"""The failed-attempt limiter: a sliding window per key, a success clears the email's count; counted in the
database, so limiters on one database (other processes, other hosts, the next start) share the counts. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from facekeeper.services.ratelimit import AttemptLimiter, key_hash
from facekeeper.storage.db import Database
from facekeeper.storage.tables import SignInFailureTable


class Clock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def stored(db: Database) -> list[tuple[str, datetime]]:
    with db.transaction() as session:
        rows = session.execute(select(SignInFailureTable.key_hash, SignInFailureTable.failed_at)).all()
    return [(row.key_hash, row.failed_at) for row in rows]


def test_limit_window_and_retry_after(database: Database) -> None:
    clock = Clock()
    limiter = AttemptLimiter(database, 3, 60, clock)
    keys = ("email:a", "client:1")
    for _ in range(3):
        assert limiter.retry_after(keys) is None
        limiter.failed(keys)
        clock.now += 10
    assert limiter.retry_after(keys) == 30  # the oldest failure leaves the window 60 s after it
    assert limiter.retry_after(("email:b",)) is None  # other emails are not affected
    assert limiter.retry_after(("client:1",)) == 30  # but the same client is
    clock.now += 30
    assert limiter.retry_after(keys) is None


def test_success_clears_the_email_only(database: Database) -> None:
    clock = Clock()
    limiter = AttemptLimiter(database, 2, 60, clock)
    limiter.failed(("email:a", "client:1"))
    limiter.failed(("email:a", "client:1"))
    limiter.succeeded("email:a")
    assert limiter.retry_after(("email:a",)) is None
    assert limiter.retry_after(("client:1",)) is not None


def test_limiters_on_one_database_share_the_counts(database_url: str) -> None:
    """Two processes (two limiters, two engines), then a restart (a third): one count throughout."""
    clock = Clock()
    first, second, restarted = Database(database_url), Database(database_url), Database(database_url)
    first.upgrade()
    try:
        a, b = AttemptLimiter(first, 4, 60, clock), AttemptLimiter(second, 4, 60, clock)
        keys = ("email:a", "client:1")
        for limiter in (a, b, a):
            limiter.failed(keys)
            clock.now += 1
        assert a.retry_after(keys) is None and b.retry_after(keys) is None
        b.failed(keys)  # the fourth, through the other one
        assert a.retry_after(keys) == 57 and b.retry_after(keys) == 57
        first.dispose()  # the first process ends; a new one starts on the same database
        after_restart = AttemptLimiter(restarted, 4, 60, clock)
        assert after_restart.retry_after(keys) == 57
        after_restart.succeeded("email:a")
        assert b.retry_after(("email:a",)) is None  # a success clears the email everywhere
        assert b.retry_after(("client:1",)) == 57  # not the client
    finally:
        for db in (first, second, restarted):
            db.dispose()


def test_only_hashes_of_the_keys_are_stored(database: Database) -> None:
    clock = Clock()
    AttemptLimiter(database, 3, 60, clock).failed(("email:ann@example.com", "client:10.0.0.7"))
    rows = stored(database)
    assert sorted(h for h, _ in rows) == sorted([key_hash("email:ann@example.com"), key_hash("client:10.0.0.7")])
    assert all(len(h) == 64 and "ann" not in h for h, _ in rows)
    moment = rows[0][1]
    assert (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) == datetime.fromtimestamp(clock.now, UTC)


def test_failures_out_of_the_window_are_pruned_on_writes(database: Database) -> None:
    clock = Clock()
    limiter = AttemptLimiter(database, 3, 60, clock)
    for n in range(50):  # many emails tried once each
        limiter.failed((f"email:{n}",))
    clock.now += 30
    limiter.failed(("email:recent",))
    assert len(stored(database)) == 51  # nothing expired yet
    clock.now += 31  # the first 50 left the window, "recent" did not
    limiter.failed(("email:new",))
    assert sorted(h for h, _ in stored(database)) == sorted([key_hash("email:recent"), key_hash("email:new")])


def test_pruning_is_bounded_per_write(database: Database) -> None:
    """A long backlog goes in batches: no write pays for all of it, yet each removes more than it adds."""
    from facekeeper.storage import sign_in_failures

    clock = Clock()
    limiter = AttemptLimiter(database, 3, 60, clock)
    with database.transaction() as session:
        moment = datetime.fromtimestamp(clock.now, UTC)
        sign_in_failures.SignInFailureRepository(session).add(
            (key_hash(f"email:{n}") for n in range(sign_in_failures.PRUNE_BATCH + 10)), moment
        )
    clock.now += 61
    limiter.failed(("email:new",))
    with database.transaction() as session:
        total = session.scalar(select(func.count()).select_from(SignInFailureTable))
    assert total == 10 + 1
    limiter.failed(("email:next",))
    assert len(stored(database)) == 2
