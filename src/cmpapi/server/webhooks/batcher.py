"""Writing attempt results in batches: everything that finished while the previous batch
was being written goes in the next one, so a busy worker makes a handful of commits a
second whatever its delivery rate (one commit per delivery bounded throughput otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    """``add(item)`` queues an item; a task passes all queued items to ``write`` at once,
    one call at a time, ``linger`` seconds after the first of them arrived. ``write`` must
    handle its own errors."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]], linger: float = 0.0) -> None:
        self._write = write
        self._linger = linger
        self._items: list[T] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writing task on the running loop."""
        self._task = asyncio.create_task(self._run(), name="webhook results")

    def add(self, item: T) -> None:
        """Queue ``item`` for the next batch."""
        self._items.append(item)
        self._ready.set()

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not (self._closing and not self._items):
            await self._ready.wait()
            if self._linger and not self._closing:
                await asyncio.sleep(self._linger)  # let more results join this batch
            self._ready.clear()
            batch, self._items = self._items, []
            if batch:
                await self._write(batch)
