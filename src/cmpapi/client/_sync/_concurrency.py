"""Sleeping, locking and bounded parallelism for the sync client (threads), the hand-written
twin of ``_async/_concurrency.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")

Lock = threading.Lock


def sleep(seconds: float) -> None:
    """Wait."""
    time.sleep(seconds)


def run_limited(calls: Sequence[Callable[[], T]], limit: int) -> list[T]:
    """Run ``calls`` on at most ``limit`` threads; results in order. After the first
    failure (or an interrupt of the caller) no further call starts; it is raised once the
    calls already running have ended (threads cannot be cancelled)."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def one(call: Callable[[], T]) -> T:
        if stop.is_set():
            raise _Skipped
        try:
            return call()
        except BaseException as exc:
            failures.append(exc)
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, limit)) as pool:
        futures = [pool.submit(one, call) for call in calls]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:  # also on KeyboardInterrupt: queued calls must not start
            stop.set()
            for future in futures:
                future.cancel()
    if failures:
        raise failures[0]
    return [future.result() for future in futures]


class _Skipped(Exception):
    """A call not started because another one failed."""


TokenHook = Callable[[T], None]
"""A callback the sync client accepts."""


def call_hook(hook: TokenHook[T], value: T) -> None:
    """Call ``hook``."""
    hook(value)
