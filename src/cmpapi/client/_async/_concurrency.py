"""Sleeping, locking and bounded parallelism for the async client. Its sync twin
(``_sync/_concurrency.py``) is written by hand: threads are not a token substitution."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

Lock = asyncio.Lock


async def sleep(seconds: float) -> None:
    """Wait without blocking other tasks."""
    await asyncio.sleep(seconds)


async def run_limited(calls: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run ``calls`` with at most ``limit`` at a time; results in order. The first failure
    cancels the rest and is raised."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await call()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(call)) for call in calls]
    except BaseExceptionGroup as failed:
        # TaskGroup wraps the failures in a group; callers catch the error itself, as with
        # the sync twin (the others were the cancelled calls' or later ones).
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


TokenHook = Callable[[T], Awaitable[None] | None]
"""A callback the async client accepts as a plain or an async function."""


async def call_hook(hook: TokenHook[T], value: T) -> None:
    """Call ``hook`` and, when it is an async function, wait for it."""
    outcome = hook(value)
    if outcome is not None:
        await outcome
