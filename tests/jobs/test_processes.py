"""The process-pool helper: a child that dies or raises fails its job, the worker lives on."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cmpapi.server.jobs import ProcessCrashed, ProcessPool, enqueue
from cmpapi.server.jobs.worker import Worker
from cmpapi.server.settings import Settings
from tests.jobs import handlers
from tests.jobs.conftest import jobs, runs
from tests.support.workers import drive


def test_pool_survives_a_child_that_exits() -> None:
    pool = ProcessPool(1)

    async def main() -> None:
        assert await pool.run(handlers.square, 7) == 49
        with pytest.raises(ProcessCrashed, match="child process died running die"):
            await pool.run(handlers.die, 3)
        with pytest.raises(ProcessCrashed):
            await pool.run(handlers.segfault, 0)
        with pytest.raises(MemoryError, match="simulated"):
            await pool.run(handlers.out_of_memory, 0)
        assert await pool.run(handlers.square, 8) == 64

    try:
        asyncio.run(main())
    finally:
        pool.close()


def test_cancelling_a_busy_step_kills_its_child() -> None:
    pool = ProcessPool(1)

    async def main() -> None:
        step = asyncio.ensure_future(pool.run(handlers.sleep_in_child, 30))
        await asyncio.sleep(0.5)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert await asyncio.wait_for(pool.run(handlers.square, 3), 10) == 9

    try:
        asyncio.run(main())
    finally:
        pool.close()


@pytest.mark.parametrize("fn", ["die", "segfault", "memory"])
def test_a_crashing_step_fails_the_job_not_the_worker(
    fn: str, job_settings: Settings, session: Session, engine: Engine
) -> None:
    bad = enqueue(session, "test.process", {"fn": fn, "arg": 1}, max_attempts=2)
    good = enqueue(session, "test.process", {"fn": "square", "arg": 4})
    session.commit()
    worker = Worker(job_settings, concurrency=1)
    drive(worker, lambda: sum(j.status in ("succeeded", "failed") for j in jobs(engine)) == 2)
    rows = {j.id: j for j in jobs(engine)}
    assert (rows[bad.id].status, rows[bad.id].attempts) == ("failed", 2)
    expected = "MemoryError: simulated" if fn == "memory" else "ProcessCrashed: a child"
    assert (rows[bad.id].last_error or "").startswith(expected)
    assert rows[good.id].status == "succeeded"
    assert [r.job_id for r in runs(engine)] == [good.id]
