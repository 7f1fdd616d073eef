"""Where blocking database work runs: inline on the event loop, or on a bounded thread pool.

Measured on the 2-core box (bench/README.md): each FastAPI thread hop costs ~100 µs and,
with 40 threads fighting for the GIL, most of the latency; six hops a request gave 0.08 of
the bare-Starlette reference. So every request makes at most one hop:

- inline: the sync work runs on the event loop. One event loop never holds two pooled
  connections at once, and SQLite writes of one process never wait for each other.
- thread: the work runs in one worker thread; the number of such threads is capped at the
  pool size so a thread never waits for a connection another thread holds across an await
  (which deadlocked at 128 connections).

PostgreSQL runs everything in threads. SQLite (the default) runs writes inline, and reads
(GET requests) inline under a time budget: a read still running after
``db_read_budget_ms`` is interrupted (SQLite's progress handler, ``engine.py``), rolled
back with its session, and run again in a worker thread, where it may take as long as it
needs while the loop goes on (SQLite releases the GIL while it steps a statement).

Measured (bench/hol.py, bench/run.py, same loaded box): inline, a search over 100,000
titles held the loop, and every other request of the process, for 0.3-2 s (light
requests' p99 x5.0 beside it); every read in a thread cost the hot path a third of its
throughput (listUsers 0.25 -> 0.17 of the reference); the budget keeps short reads on
the loop and moves the long ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from sqlalchemy.exc import OperationalError

P = ParamSpec("P")
T = TypeVar("T")


_deadline = threading.local()
_unit = threading.local()  # .inline: a unit of work is running inline on this thread


def running_inline() -> bool:
    """Whether the calling code runs in an inline unit of work (on the event loop)."""
    return getattr(_unit, "inline", False)


def _run_inline(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    _unit.inline = True
    try:
        return fn(*args, **kwargs)
    finally:
        _unit.inline = False


def past_deadline() -> int:
    """SQLite's progress handler: non-zero interrupts the running statement."""
    deadline: float | None = getattr(_deadline, "at", None)
    return int(deadline is not None and time.monotonic() > deadline)


SLOW_RUNS = 32  # reads of a kind sent to a thread after one passed the budget
SLOW_KINDS = 1024  # kinds remembered (then forgotten all at once)


class ReadTooLong(Exception):
    """An inline read passed its budget (SQLite interrupted its statement)."""


@contextmanager
def read_budget(seconds: float) -> Iterator[None]:
    """Statements of this thread run until ``seconds`` from now, then raise ReadTooLong."""
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc.orig):
            raise ReadTooLong from exc
        raise
    finally:
        _deadline.at = None


class DbRunner:
    """Runs a sync callable that uses the database, inline or in the bounded pool."""

    def __init__(
        self,
        inline: bool,
        max_threads: int,
        inline_reads: bool | None = None,
        read_budget_s: float | None = None,
    ) -> None:
        self.inline = inline
        self.inline_reads = inline if inline_reads is None else inline_reads
        self.read_budget_s = read_budget_s  # None: inline reads take as long as they take
        if inline:  # a connection of the pool stays free for the loop's own work
            max_threads = max(1, max_threads - 1)
        self._limiter = CapacityLimiter(max_threads)
        self._slow: dict[Hashable, int] = {}  # read kind -> reads left to send to a thread

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Work that may write."""
        if self.inline:
            return _run_inline(fn, *args, **kwargs)
        return await self._in_thread(fn, *args, **kwargs)

    async def read(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Work that only reads (a GET request's)."""
        return await self.read_as(None, fn, *args, **kwargs)

    async def read_as(
        self,
        kind: Callable[[], Hashable] | None,
        fn: Callable[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``read``, for a read of the kind ``kind()`` says (what the request asks: its
        route, the names of its parameters, the size class of its offset; worked out only
        when needed). A kind whose last read passed the budget goes to a thread at once for
        its next ``SLOW_RUNS`` reads, then tries the loop again: a read that is long each
        time no longer spends the budget on the loop first, then all of it again in the
        thread (a search of 1,000,000 tasks: 22 ms that way, 11 ms in the thread;
        bench/README.md)."""
        if not self.inline_reads:
            return await self._in_thread(fn, *args, **kwargs)
        if self.read_budget_s is None:
            return _run_inline(fn, *args, **kwargs)
        if self._slow and kind is not None:
            known = kind()
            left = self._slow.get(known, 0)
            if left:
                self._slow[known] = left - 1
                return await self._in_thread(fn, *args, **kwargs)
        try:
            with read_budget(self.read_budget_s):
                return _run_inline(fn, *args, **kwargs)
        except ReadTooLong:
            if kind is not None:
                if len(self._slow) >= SLOW_KINDS:
                    self._slow.clear()
                self._slow[kind()] = SLOW_RUNS
            return await self._in_thread(fn, *args, **kwargs)

    async def _in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self._limiter)
