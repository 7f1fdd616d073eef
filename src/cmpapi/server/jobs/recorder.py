"""Writing attempt results in batches: one commit for every result that arrived while the
previous batch was being written. With short jobs, commits (an fsync each on PostgreSQL)
would otherwise bound the worker's throughput, and on SQLite every commit takes the
single write lock the API also needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cmpapi.server.jobs.queue import Result

Writer = Callable[[list[Result]], Awaitable[set[str]]]


class Recorder:
    """``await recorder.record(result)`` returns whether the result was written (False: the
    job's lease was lost to another worker)."""

    def __init__(self, write: Writer) -> None:
        self._write = write
        self._pending: list[tuple[Result, asyncio.Future[bool]]] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writing task (on the running loop)."""
        self._task = asyncio.create_task(self._run(), name="jobs recorder")

    async def record(self, result: Result) -> bool:
        """Queue ``result`` for the next batch and wait until it is written."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((result, future))
        self._ready.set()
        return await future

    async def close(self) -> None:
        """Write what is pending, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not (self._closing and not self._pending):
            await self._ready.wait()
            self._ready.clear()
            await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            written = await self._write([result for result, _ in batch])
        except Exception as exc:  # the database is away: each waiting job logs it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for result, future in batch:
            if not future.done():
                future.set_result(result.job_id in written)
