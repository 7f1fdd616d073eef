"""Where blocking database work runs: inline on the event loop, or on a bounded thread pool.

Measured on the 2-core box (bench/README.md): each FastAPI thread hop costs ~100 µs and,
with 40 threads fighting for the GIL, most of the latency; six hops a request gave 0.08 of
the bare-Starlette reference. So every request makes at most one hop:

- ``inline`` (SQLite default): the sync work runs on the event loop. SQLite queries are
  in-process and short, and one event loop never holds two pooled connections at once.
- ``thread`` (PostgreSQL default): the work runs in one worker thread; the number of such
  threads is capped at the pool size so a thread never waits for a connection another
  thread holds across an await (which deadlocked at 128 connections).
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

    def __init__(self, inline: bool, max_threads: int) -> None:
        self.inline = inline
        self._limiter = CapacityLimiter(max_threads)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self.inline:
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self._limiter)
