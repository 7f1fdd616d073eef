"""Job queue throughput with a no-op handler: enqueue N jobs, run one worker until all succeed.

    .venv/bin/python bench/jobs_throughput.py                      # SQLite in a temp dir
    .venv/bin/python bench/jobs_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench_jobs
    .venv/bin/python bench/jobs_throughput.py --workers 2 --concurrency 16

The PostgreSQL database must exist; its ``jobs`` table is emptied first. Prints enqueue and
run rates (jobs/s); see docs/jobs.md for figures measured on the 2-core box.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.db.migrate import upgrade
from cmpapi.server.jobs import JobContext, enqueue, job_handler
from cmpapi.server.jobs.tables import JOBS, SUCCEEDED
from cmpapi.server.jobs.worker import Worker
from cmpapi.server.settings import Settings


@job_handler("bench.noop")
async def noop(ctx: JobContext, payload: Any) -> None:
    """Does nothing: the run rate measures the queue itself."""


def main() -> None:
    """Parse the options, enqueue, run, print the rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="workers in this process")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--orgs", type=int, default=10, help="organizations jobs spread over")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    settings = Settings(
        data_dir=data_dir,
        database_url=args.database_url,
        worker_embedded=False,
        worker_poll_interval=0.05,
    )
    engine = make_engine(settings)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(delete(JOBS))
    started = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        for i in range(args.jobs):
            enqueue(session, "bench.noop", {"i": i}, org_id=f"org{i % args.orgs}")
        session.commit()
    enqueue_s = time.perf_counter() - started
    run_s = asyncio.run(_run(settings, engine, args.workers, args.concurrency, args.jobs))
    engine.dispose()
    backend = engine.dialect.name
    print(
        f"{backend}: enqueue {args.jobs / enqueue_s:,.0f} jobs/s (one transaction); "
        f"run {args.jobs / run_s:,.0f} jobs/s ({args.workers} worker(s) x "
        f"{args.concurrency} slots)"
    )


async def _run(settings: Settings, engine: Any, workers: int, concurrency: int, n: int) -> float:
    pool = [Worker(settings, concurrency=concurrency) for _ in range(workers)]
    started = time.perf_counter()
    for worker in pool:
        await worker.start()
    done = select(func.count()).where(JOBS.c.status == SUCCEEDED)
    while True:
        with engine.connect() as conn:
            if conn.execute(done).scalar_one() >= n:
                break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    for worker in pool:
        await worker.stop()
    return elapsed


if __name__ == "__main__":
    main()
