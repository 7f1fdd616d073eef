"""A process pool for CPU-heavy job steps (image renditions), isolated from the worker.

A child that crashes (segfault in a C library, ``os._exit``, the OOM killer) breaks a
``ProcessPoolExecutor`` for good; ``ProcessPool`` then drops it, starts a fresh one on the
next call and raises ``ProcessCrashed`` to the job, which is retried like any other error.
The worker itself lives on.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


class ProcessCrashed(Exception):
    """A child process died while running a job step; the step may be retried."""


class ProcessPool:
    """A lazily started pool of ``size`` processes; ``await pool.run(fn, *args)``.

    ``fn`` and its arguments must be picklable (a module-level function). Children are
    started with ``forkserver``: forking a process that runs threads (the worker does) can
    deadlock in the child.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                self._executor = ProcessPoolExecutor(self.size, mp_context=context)
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor, *, kill: bool) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        if kill:
            # No public way to stop a busy child before Python 3.14's kill_workers().
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a child process and return its result (or raise its error).

        If the awaiting job is cancelled (timeout, shutdown) while the child is busy, the
        pool's children are killed: it is the only way to stop the work, and sibling steps
        running at that moment fail with ``ProcessCrashed`` and are retried.
        """
        executor = self._current()
        try:
            future = executor.submit(fn, *args)
        except BrokenProcessPool as exc:
            self._discard(executor, kill=False)
            raise ProcessCrashed("process pool was broken; retry") from exc
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            self._discard(executor, kill=False)
            raise ProcessCrashed(f"a child process died running {_name(fn)}") from exc
        except asyncio.CancelledError:
            if not future.cancel() and not future.done():
                self._discard(executor, kill=True)
            raise

    def close(self) -> None:
        """Stop the children (waits for steps still running; call it from a thread)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))
