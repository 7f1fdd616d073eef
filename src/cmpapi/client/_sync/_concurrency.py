"""Sleeping, locking and bounded parallelism for the sync client (threads), the hand-written
twin of ``_async/_concurrency.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

Lock = threading.Lock


def sleep(seconds: float) -> None:
    """Wait."""
    time.sleep(seconds)


def run_limited(calls: Sequence[Callable[[], T]], limit: int) -> list[T]:
    """Run ``calls`` on at most ``limit`` threads; results in order. The first failure is
    raised once the calls already running have ended; calls not started are dropped."""
    with ThreadPoolExecutor(max_workers=max(1, limit)) as pool:
        futures = [pool.submit(call) for call in calls]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()


TokenHook = Callable[[T], None]
"""A callback the sync client accepts."""


def call_hook(hook: TokenHook[T], value: T) -> None:
    """Call ``hook``."""
    hook(value)
