"""Where database work runs: a long inline read on SQLite moves to a worker thread, and
the event loop goes on meanwhile (no request waits behind it)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from cmpapi.server.db.engine import make_engine
from cmpapi.server.db.runner import DbRunner
from cmpapi.server.settings import Settings

# A statement that keeps SQLite busy for a while (~0.3-1 s): no table needed.
SLOW = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
    " SELECT count(*) FROM n"
)


@pytest.mark.anyio
async def test_a_long_read_moves_to_a_thread_and_the_loop_goes_on(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    runner = DbRunner(inline=True, max_threads=4, read_budget_s=0.005)
    loop_thread = threading.get_ident()
    attempts: list[int] = []

    def slow_read() -> int:
        attempts.append(threading.get_ident())
        with engine.connect() as conn:
            return int(conn.execute(SLOW).scalar_one())

    def quick_read() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT 1")).scalar_one())

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    tick_task = asyncio.ensure_future(ticker())
    try:
        assert await runner.read(slow_read) == 3_000_000
    finally:
        tick_task.cancel()
    # The first attempt ran inline and was interrupted; the second ran in another thread,
    # while the loop kept ticking.
    assert attempts[0] == loop_thread
    assert len(attempts) == 2 and attempts[1] != loop_thread
    assert ticks > 10
    assert await runner.read(quick_read) == 1  # short reads stay inline and work
    engine.dispose()


@pytest.mark.anyio
async def test_without_a_budget_reads_stay_inline(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    runner = DbRunner(inline=True, max_threads=2)
    seen: list[int] = []

    def read() -> int:
        seen.append(threading.get_ident())
        with engine.connect() as conn:
            return int(conn.execute(SLOW).scalar_one())

    assert await runner.read(read) == 3_000_000
    assert seen == [threading.get_ident()]
    engine.dispose()


@pytest.mark.anyio
async def test_a_kind_of_read_that_passed_its_budget_goes_to_a_thread_first(
    tmp_path: Path,
) -> None:
    """After one read of a kind passed the budget, the next ``SLOW_RUNS`` of that kind go to
    a thread at once (no budget spent on the loop first), then one tries the loop again;
    other kinds stay on the loop."""
    from cmpapi.server.db.runner import SLOW_RUNS

    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    runner = DbRunner(inline=True, max_threads=2, read_budget_s=0.005)
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def read(statement: object) -> int:
        seen.append(threading.get_ident())
        with engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())  # type: ignore[call-overload]

    assert await runner.read_as(lambda: "search", read, SLOW) == 3_000_000
    assert seen[0] == loop_thread and seen[1] != loop_thread  # interrupted, then moved
    seen.clear()
    for _ in range(SLOW_RUNS):
        assert await runner.read_as(lambda: "search", read, text("SELECT 1")) == 1
    assert loop_thread not in seen and len(seen) == SLOW_RUNS  # straight to a thread
    assert await runner.read_as(lambda: "listing", read, text("SELECT 1")) == 1
    assert seen[-1] == loop_thread  # another kind
    assert await runner.read_as(lambda: "search", read, text("SELECT 1")) == 1
    assert seen[-1] == loop_thread  # the kind tries the loop again
    engine.dispose()
