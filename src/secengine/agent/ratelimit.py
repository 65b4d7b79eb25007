"""Falco's token bucket, shared by the alert rate limiter and the drop actions' throttle."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """Falco's token bucket: ``rate`` tokens a second, at most ``max_tokens``, starting full."""

    __slots__ = ("_clock", "_last", "max_tokens", "rate", "tokens")

    def __init__(
        self, rate: float, max_tokens: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.max_tokens = max_tokens
        self.tokens = max_tokens
        self._clock = clock
        self._last = clock()

    def claim(self) -> bool:
        """Take one token if there is one."""
        now = self._clock()
        self.tokens = min(self.max_tokens, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
