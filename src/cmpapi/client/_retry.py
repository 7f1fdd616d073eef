"""When to retry a failed call, and how long to wait first (no I/O here)."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

import httpx

from cmpapi.client.config import RetryPolicy

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def retryable_status(method: str, status: int) -> bool:
    """429 for any method (the server refused before acting); 5xx for idempotent ones."""
    return status == 429 or (status >= 500 and method in IDEMPOTENT)


def retryable_exception(method: str, exc: httpx.TransportError) -> bool:
    """A connection never made is safe to retry for any method; a broken one only for
    idempotent methods (the server may have acted on it)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or method in IDEMPOTENT


def delay(policy: RetryPolicy, attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): ``Retry-After`` when the server
    sent one, else exponential backoff with full jitter; never above ``max_delay``."""
    if retry_after:
        seconds = _retry_after_seconds(retry_after)
        if seconds is not None:
            return min(max(seconds, 0.0), policy.max_delay)
    ceiling = min(policy.max_delay, policy.base_delay * 2**attempt)
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


def _retry_after_seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None
