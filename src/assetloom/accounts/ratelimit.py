"""Sign-in rate limiting: a sliding window of failures per (client, user) and per client.

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
        per_client: int = 30,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_client = per_client
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, user: str) -> None:
        """Raise RateLimitedError while either window is full."""
        now = self._clock()
        with self._lock:
            for key, limit in (
                (f"u:{client}:{user.lower()}", self.per_user),
                (f"c:{client}", self.per_client),
            ):
                window = self._window(key, now)
                if len(window) >= limit:
                    retry = max(1, int(window[0] + self.window_s - now) + 1)
                    raise RateLimitedError(
                        "too many failed sign-ins", retry_after_s=retry, hint=f"wait {retry} s"
                    )

    def failed(self, client: str, user: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                self._prune(now)
            for key in (f"u:{client}:{user.lower()}", f"c:{client}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, client: str, user: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{client}:{user.lower()}", None)

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
