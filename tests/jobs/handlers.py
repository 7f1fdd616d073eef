"""Job handlers used by the tests; also imported by `cmpapi worker --import tests.jobs.handlers`
subprocesses. Each run appends a row to ``job_test_runs`` (a table outside the app's
metadata, created and dropped by the tests)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert

from cmpapi.server.jobs import JobContext, PermanentFailure, RetryLater, job_handler

RUNS = Table(
    "job_test_runs",
    MetaData(),
    Column("job_id", String(32)),
    Column("worker", String(64)),
    Column("attempt", Integer),
    Column("started", Float),
    Column("finished", Float),
)


def record(ctx: JobContext, started: float) -> None:
    """Append this run to ``job_test_runs`` (its own short transaction)."""
    with ctx.sessionmaker() as session:
        session.execute(
            insert(RUNS).values(
                job_id=ctx.job_id,
                worker=ctx.worker_id,
                attempt=ctx.attempt,
                started=started,
                finished=time.time(),
            )
        )
        session.commit()


@job_handler("test.record")
def record_sync(ctx: JobContext, payload: dict[str, Any]) -> None:
    started = time.time()
    time.sleep(payload.get("sleep", 0))
    record(ctx, started)


@job_handler("test.record_async")
async def record_async(ctx: JobContext, payload: dict[str, Any]) -> None:
    started = time.time()
    await asyncio.sleep(payload.get("sleep", 0))
    await ctx.db.run(record, ctx, started)


@job_handler("test.flaky", retry_schedule=[0.05, 0.1])
def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
    record(ctx, time.time())
    if ctx.attempt < payload["succeed_on"]:
        raise RuntimeError(f"boom on attempt {ctx.attempt}")


@job_handler("test.retry_later")
def retry_later(ctx: JobContext, payload: dict[str, Any]) -> None:
    record(ctx, time.time())
    if ctx.attempt == 1:
        raise RetryLater(payload["seconds"], "not ready yet")


@job_handler("test.permanent")
def permanent(ctx: JobContext, payload: dict[str, Any]) -> None:
    record(ctx, time.time())
    raise PermanentFailure("bad input")


@job_handler("test.slow")
async def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
    started = time.time()
    await asyncio.sleep(payload["sleep"])
    await ctx.db.run(record, ctx, started)


@job_handler("test.timeout", timeout=0.2, retry_schedule=[0.05])
async def too_slow(ctx: JobContext, payload: dict[str, Any]) -> None:
    await asyncio.sleep(5)


class Gauge:
    """Counts concurrent runs in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


LIMITED = Gauge()


@job_handler("test.limited", concurrency=2)
def limited(ctx: JobContext, payload: dict[str, Any]) -> None:
    with LIMITED:
        time.sleep(payload.get("sleep", 0.05))
    record(ctx, time.time())


# -- process pool: these run in a child process -------------------------------------------


def square(x: int) -> int:
    return x * x


def die(code: int) -> int:
    os._exit(code)


def segfault(_: int) -> int:
    os.kill(os.getpid(), signal.SIGSEGV)  # what a crashing C extension does to its process
    return 0


def out_of_memory(_: int) -> int:
    raise MemoryError("simulated")


IN_CHILD = {"square": square, "die": die, "segfault": segfault, "memory": out_of_memory}


@job_handler("test.process", retry_schedule=[0.05])
async def in_process(ctx: JobContext, payload: dict[str, Any]) -> None:
    result = await ctx.run_in_process(IN_CHILD[payload["fn"]], payload["arg"])
    if result != payload["arg"] ** 2:
        raise AssertionError(result)
    await ctx.db.run(record, ctx, time.time())


def sleep_in_child(seconds: float) -> int:
    time.sleep(seconds)
    return 0


@job_handler("test.watch_lease")
async def watch_lease(ctx: JobContext, payload: dict[str, Any]) -> None:
    started = time.time()
    while not ctx.lease_lost and time.time() - started < payload["seconds"]:
        await asyncio.sleep(0.02)
    await ctx.db.run(record, ctx, started)
