"""The failed-attempt limiter: a sliding window per key, a success clears the email's count."""

from __future__ import annotations

from facekeeper.services.ratelimit import AttemptLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_window_and_retry_after() -> None:
    clock = Clock()
    limiter = AttemptLimiter(3, 60, clock)
    keys = ("email:a", "client:1")
    for _ in range(3):
        assert limiter.retry_after(keys) is None
        limiter.failed(keys)
        clock.now += 10
    assert limiter.retry_after(keys) == 30  # the oldest failure leaves the window at 1060
    assert limiter.retry_after(("email:b",)) is None  # other emails are not affected
    assert limiter.retry_after(("client:1",)) == 30  # but the same client is
    clock.now += 30
    assert limiter.retry_after(keys) is None


def test_success_clears_the_email_only() -> None:
    clock = Clock()
    limiter = AttemptLimiter(2, 60, clock)
    limiter.failed(("email:a", "client:1"))
    limiter.failed(("email:a", "client:1"))
    limiter.succeeded("email:a")
    assert limiter.retry_after(("email:a",)) is None
    assert limiter.retry_after(("client:1",)) is not None


def test_expired_keys_are_forgotten() -> None:
    from facekeeper.services import ratelimit

    clock = Clock()
    limiter = AttemptLimiter(3, 60, clock)
    for n in range(ratelimit.MAX_KEYS + 1):
        limiter.failed((f"email:{n}",))
    clock.now += 61
    limiter.failed(("email:new",))
    assert list(limiter._failures) == ["email:new"]
