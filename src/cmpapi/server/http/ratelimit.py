"""Per-organization rate limiting of the API: a token bucket per organization.

The CMP documents 10 requests per second per organization and nothing about its refusals
(docs/compat.md#rate-limiting): cmpapi answers 429 with ``Retry-After`` and the CMP
``Error`` body, before the operation runs, so a refused request changes nothing.

Buckets live in the API process: with N API processes an organization gets up to N times
``CMPAPI_RATE_LIMIT`` (a shared counter would cost a database write per request).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from cmpapi.server.errors import RateLimited

MAX_BUCKETS = 100_000  # organizations remembered at once; full buckets are dropped first


class RateLimiter:
    """``rate`` requests a second per key, in bursts of up to ``burst``."""

    def __init__(
        self, rate: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst or max(1, math.ceil(rate))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()  # requests run on several threads (PostgreSQL)

    def take(self, key: str) -> None:
        """Spend one request of ``key``'s budget, or raise ``RateLimited``."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.rate)
                raise RateLimited(max(1, wait), "Too many requests for this organization")
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they would start full anyway."""
        full = [
            k
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


def make_limiter(rate: float) -> RateLimiter | None:
    """The app's limiter, or None when rate limiting is off."""
    return RateLimiter(rate) if rate > 0 else None
