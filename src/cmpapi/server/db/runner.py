"""Where blocking database work runs: inline on the event loop, or on a bounded thread pool.

Measured on the 2-core box (bench/README.md): each FastAPI thread hop costs ~100 µs and,
with 40 threads fighting for the GIL, most of the latency; six hops a request gave 0.08 of
the bare-Starlette reference. So every request makes at most one hop:

- inline: the sync work runs on the event loop. One event loop never holds two pooled
  connections at once, and SQLite writes of one process never wait for each other.
- thread: the work runs in one worker thread; the number of such threads is capped at the
  pool size so a thread never waits for a connection another thread holds across an await
  (which deadlocked at 128 connections).

PostgreSQL runs everything in threads. SQLite (the default) runs writes inline and reads
(GET requests) in threads: a read can be long (a search over 100,000 titles), and inline
it held the loop, and every other request of the process, for its whole duration
(bench/hol.py: light requests' p99 x5.0 beside such reads inline, x1.7 in threads).
SQLite releases the GIL while it steps a statement, so the loop goes on meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

P = ParamSpec("P")
T = TypeVar("T")


class DbRunner:
    """Runs a sync callable that uses the database, inline or in the bounded pool."""

    def __init__(self, inline: bool, max_threads: int, inline_reads: bool | None = None) -> None:
        self.inline = inline
        self.inline_reads = inline if inline_reads is None else inline_reads
        if inline and not self.inline_reads:  # a connection stays free for the loop's work
            max_threads = max(1, max_threads - 1)
        self._limiter = CapacityLimiter(max_threads)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Work that may write."""
        if self.inline:
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self._limiter)

    async def read(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Work that only reads (a GET request's)."""
        if self.inline_reads:
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self._limiter)
