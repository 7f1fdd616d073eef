"""When a failed job runs again, and when a periodic job is due."""

from __future__ import annotations

import random
from collections.abc import Sequence

JITTER = 0.2  # +-20 %: spreads retries of jobs that failed together (a dead endpoint)


def parse_schedule(text: str) -> tuple[float, ...]:
    """``"5,30,120"`` -> ``(5.0, 30.0, 120.0)``; refuses empty, negative or non-numbers."""
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"retry schedule must be comma-separated seconds, not {text!r}") from None
    if any(d < 0 for d in delays):
        raise ValueError(f"retry schedule has a negative delay: {text!r}")
    return delays


def retry_delay(schedule: Sequence[float], attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1-based), with jitter.

    The schedule is the backoff curve itself (exponential by default); past its end the last
    delay repeats, so ``max_attempts`` alone decides how long a job keeps trying.
    """
    base = schedule[min(max(attempts, 1), len(schedule)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not secrecy


def period_key(every: float, at: float) -> tuple[str, float]:
    """The dedupe key of the period containing ``at`` (epoch seconds) and when the next
    period starts. Every worker enqueues with the same key, so exactly one job per period
    exists however many workers run, without electing a leader."""
    start = (at // every) * every
    return f"every:{start:.3f}", start + every
