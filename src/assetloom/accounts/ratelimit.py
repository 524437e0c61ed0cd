"""Sign-in rate limiting: sliding windows of failures per account, per (address, account) and
per address.

- (address, account), `per_user`: one person guessing one password.
- account, `per_account`, from every address together: guesses spread over many addresses
  (a botnet, or forged X-Forwarded-For before the proxy fix) still add up.
- address, `per_client`, over every account: password spraying. Past it, the address is not
  locked out: each account gets one try from it per window. Everyone behind one proxy or NAT
  shares an address, and one person's failures must not lock the others out.

In memory, per server process: enough to stop password guessing against one server; the
counters reset on restart, which only helps a patient attacker by one window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from assetloom.accounts.errors import RateLimitedError

_MAX_KEYS = 10_000


class LoginRateLimiter:
    def __init__(
        self,
        *,
        per_user: int = 5,
        per_account: int = 10,
        per_client: int = 30,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_account = per_account
        self.per_client = per_client
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, user: str) -> None:
        """Raise RateLimitedError while a window that applies is full; `retry_after_s` is
        when every such window will have room again."""
        now = self._clock()
        pair_key, account_key, address_key = _keys(client, user)
        with self._lock:
            pair = self._window(pair_key, now)
            account = self._window(account_key, now)
            address = self._window(address_key, now)
            blocked: list[tuple[float, str]] = []  # (when it clears, why)
            if len(pair) >= self.per_user:
                blocked.append((pair[-self.per_user], "from this address for this account"))
            if len(account) >= self.per_account:
                blocked.append((account[-self.per_account], "for this account"))
            if pair and len(address) >= self.per_client:
                # Clears when this account's try here expires, or the address has room.
                blocked.append((min(pair[-1], address[-self.per_client]), "from this address"))
        if blocked:
            oldest, why = max(blocked)
            retry = max(1, int(oldest + self.window_s - now) + 1)
            raise RateLimitedError(
                f"too many failed sign-ins {why}", retry_after_s=retry, hint=f"wait {retry} s"
            )

    def failed(self, client: str, user: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                self._prune(now)
            for key in _keys(client, user):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, client: str, user: str) -> None:
        """Forget this address's failures for the account. The account's own window stays:
        the owner signing in says nothing about guesses made from elsewhere."""
        with self._lock:
            self._failures.pop(_keys(client, user)[0], None)

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._failures.get(key, deque())
        while window and window[0] <= now - self.window_s:
            window.popleft()
        return window

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._window(key, now):
                del self._failures[key]
        while len(self._failures) >= _MAX_KEYS:  # still full of live keys: drop the oldest
            del self._failures[next(iter(self._failures))]


def _keys(client: str, user: str) -> tuple[str, str, str]:
    """(address + account, account, address); account names compare case-insensitively."""
    account = user.casefold()
    return f"u:{client}\0{account}", f"a:{account}", f"c:{client}"
