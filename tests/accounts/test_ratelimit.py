"""The sign-in limiter's windows, on a clock the test moves (no sleeping)."""

from __future__ import annotations

import pytest

from assetloom.accounts.errors import RateLimitedError
from assetloom.accounts.ratelimit import LoginRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Clock) -> LoginRateLimiter:
    return LoginRateLimiter(per_user=3, per_account=5, per_client=8, window_s=100, clock=clock)


def _retry(limiter: LoginRateLimiter, client: str, user: str) -> int:
    with pytest.raises(RateLimitedError) as caught:
        limiter.check(client, user)
    return caught.value.retry_after_s


def test_pair_window_and_retry_after() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.check("1.1.1.1", "Alice")
        limiter.failed("1.1.1.1", "Alice")
        clock.now += 10
    assert _retry(limiter, "1.1.1.1", "alice") == 100 - 30 + 1  # case-insensitive account
    limiter.check("2.2.2.2", "alice")  # another address still may try
    clock.now += 71
    limiter.check("1.1.1.1", "alice")  # the first failure left the window


def test_account_window_spans_addresses() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for i in range(5):
        limiter.failed(f"10.0.0.{i}", "bob")
    assert "for this account" in str(_retry_error(limiter, "10.0.0.99", "bob"))
    limiter.check("10.0.0.99", "carol")


def test_busy_address_keeps_one_try_per_account() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for i in range(8):
        limiter.failed("3.3.3.3", f"guess{i}")
    limiter.check("3.3.3.3", "dave")  # no failure here yet: one try
    limiter.failed("3.3.3.3", "dave")
    assert _retry(limiter, "3.3.3.3", "dave") == 101
    limiter.succeeded("3.3.3.3", "dave")  # signing in clears this address's failures for dave
    limiter.check("3.3.3.3", "dave")


def _retry_error(limiter: LoginRateLimiter, client: str, user: str) -> RateLimitedError:
    with pytest.raises(RateLimitedError) as caught:
        limiter.check(client, user)
    return caught.value
