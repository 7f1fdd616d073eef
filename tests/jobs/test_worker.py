"""The worker loop against real databases: outcomes, retries, limits, shutdown, two workers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from cmpapi.server.jobs import enqueue
from cmpapi.server.jobs.registry import HandlerSpec
from cmpapi.server.jobs.tables import JOBS
from cmpapi.server.jobs.worker import Worker
from cmpapi.server.settings import Settings
from tests.jobs import handlers
from tests.jobs.conftest import jobs, runs
from tests.support.workers import drive


def finished(engine: Engine, n: int = 1) -> bool:
    return sum(j.status in ("succeeded", "failed") for j in jobs(engine)) >= n


def test_a_job_runs_once_and_succeeds(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    job = enqueue(session, "test.record", {}, org_id="o1")
    async_job = enqueue(session, "test.record_async", {})
    session.commit()
    drive(Worker(job_settings, worker_id="w1"), lambda: finished(engine, 2))
    assert sorted(r.job_id for r in runs(engine)) == sorted([job.id, async_job.id])
    for row in jobs(engine):
        assert (row.status, row.attempts, row.locked_by, row.last_error) == (
            "succeeded",
            1,
            "w1",
            None,
        )
        assert row.lease_until is None and row.finished_at is not None


def test_failures_retry_then_fail_with_the_last_error(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    recovers = enqueue(session, "test.flaky", {"succeed_on": 3}, max_attempts=5)
    gives_up = enqueue(session, "test.flaky", {"succeed_on": 99}, max_attempts=3)
    session.commit()
    drive(Worker(job_settings), lambda: finished(engine, 2))
    rows = {j.id: j for j in jobs(engine)}
    assert (rows[recovers.id].status, rows[recovers.id].attempts) == ("succeeded", 3)
    assert (rows[gives_up.id].status, rows[gives_up.id].attempts) == ("failed", 3)
    assert rows[gives_up.id].last_error == "RuntimeError: boom on attempt 3"
    assert Counter(r.job_id for r in runs(engine)) == {recovers.id: 3, gives_up.id: 3}


def test_retry_later_reschedules(job_settings: Settings, session: Session, engine: Engine) -> None:
    job = enqueue(session, "test.retry_later", {"seconds": 0.3})
    session.commit()
    drive(Worker(job_settings), lambda: finished(engine))
    first, second = runs(engine)
    assert second.started - first.finished >= 0.25
    [row] = jobs(engine)
    assert (row.id, row.status, row.attempts) == (job.id, "succeeded", 2)


def test_permanent_failure_is_not_retried(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    enqueue(session, "test.permanent", {})
    session.commit()
    drive(Worker(job_settings), lambda: finished(engine))
    [row] = jobs(engine)
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        1,
        "PermanentFailure: bad input",
    )
    assert len(runs(engine)) == 1


def test_timeout_counts_as_a_failed_attempt(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    enqueue(session, "test.timeout", {}, max_attempts=2)
    session.commit()
    drive(Worker(job_settings), lambda: finished(engine))
    [row] = jobs(engine)
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "timed out after 0.2 s")


def test_concurrency_limit_per_kind(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    handlers.LIMITED.peak = 0
    for _ in range(8):
        enqueue(session, "test.limited", {"sleep": 0.05})
    for _ in range(4):
        enqueue(session, "test.record", {"sleep": 0.05})
    session.commit()
    drive(Worker(job_settings, concurrency=6), lambda: finished(engine, 12))
    assert handlers.LIMITED.peak == 2
    # The other kind was not starved by the limited kind's backlog.
    record_done = max(
        r.finished
        for r in runs(engine)
        if r.attempt == 1 and r.job_id in {j.id for j in jobs(engine) if j.kind == "test.record"}
    )
    limited_done = max(r.finished for r in runs(engine))
    assert record_done < limited_done


def test_graceful_shutdown_releases_running_jobs(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    job = enqueue(session, "test.slow", {"sleep": 30})
    session.commit()
    settings = job_settings.model_copy(update={"worker_shutdown_timeout": 0.1})
    worker = Worker(settings)
    started = time.monotonic()
    drive(worker, lambda: jobs(engine)[0].status == "running")
    assert time.monotonic() - started < 5
    [row] = jobs(engine)
    assert (row.id, row.status, row.attempts, row.locked_by, row.lease_until) == (
        job.id,
        "queued",
        0,
        None,
        None,
    )
    assert runs(engine) == []


def test_lease_of_a_dead_worker_is_taken_over(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    from cmpapi.server.jobs.claim import claim

    job = enqueue(session, "test.record", {})
    session.commit()
    claim(engine, "dead-worker", {"test.record": 1}, 0.2)  # claimed, then the worker died
    settings = job_settings.model_copy(update={"worker_lease_seconds": 0.5})
    drive(Worker(settings, worker_id="heir"), lambda: finished(engine))
    [row] = jobs(engine)
    assert (row.id, row.status, row.attempts, row.locked_by) == (job.id, "succeeded", 2, "heir")


def test_two_workers_never_run_one_job_twice(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    ids = [enqueue(session, "test.record", {"sleep": 0.005}).id for _ in range(120)]
    session.commit()

    async def both() -> None:
        workers = [Worker(job_settings, worker_id=f"w{i}", concurrency=4) for i in range(2)]
        for w in workers:
            await w.start()
        deadline = time.monotonic() + 30
        while not await asyncio.to_thread(finished, engine, len(ids)):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        for w in workers:
            await w.stop()

    asyncio.run(both())
    done = runs(engine)
    assert Counter(r.job_id for r in done) == dict.fromkeys(ids, 1)
    assert {r.worker for r in done} == {"w0", "w1"}


def test_local_enqueue_wakes_the_worker(job_settings: Settings, engine: Engine) -> None:
    settings = job_settings.model_copy(update={"worker_poll_interval": 30})
    worker = Worker(settings)

    async def main() -> float:
        await worker.start()
        await asyncio.sleep(0.1)  # the first poll found nothing; the next is 30 s away
        with worker.resources.sessionmaker() as s:
            enqueue(s, "test.record", {})
            s.commit()
        started = time.monotonic()
        while not await asyncio.to_thread(finished, engine):
            assert time.monotonic() - started < 5
            await asyncio.sleep(0.01)
        await worker.stop()
        return time.monotonic() - started

    assert asyncio.run(main()) < 2


def test_running_jobs_keep_their_lease(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    """A job running five times longer than the lease is never taken over."""
    job = enqueue(session, "test.record", {"sleep": 1.0})
    session.commit()
    settings = job_settings.model_copy(update={"worker_lease_seconds": 0.2})

    async def both() -> None:
        workers = [Worker(settings, worker_id=f"w{i}") for i in range(2)]
        for w in workers:
            await w.start()
        deadline = time.monotonic() + 10
        while not await asyncio.to_thread(finished, engine):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        for w in workers:
            await w.stop()

    asyncio.run(both())
    assert [r.job_id for r in runs(engine)] == [job.id]
    assert jobs(engine)[0].attempts == 1


def test_a_handler_sees_its_lease_taken_over(
    job_settings: Settings, session: Session, engine: Engine
) -> None:
    job = enqueue(session, "test.watch_lease", {"seconds": 10})
    session.commit()
    settings = job_settings.model_copy(update={"worker_lease_seconds": 0.3})

    def steal() -> bool:
        with engine.begin() as conn:
            stolen = conn.execute(
                # The thief holds a lease of its own: the reaper must not requeue the job
                # while the victim runs on (it would under load, after 0.3 s).
                update(JOBS)
                .where(JOBS.c.id == job.id, JOBS.c.status == "running")
                .values(locked_by="thief", lease_until=datetime.now(UTC) + timedelta(hours=1))
            ).rowcount
        return bool(stolen)

    def stolen_and_noticed() -> bool:
        steal()
        return bool(runs(engine))

    drive(Worker(settings, worker_id="victim"), stolen_and_noticed)
    [run] = runs(engine)
    assert run.finished - run.started < 5
    [row] = jobs(engine)
    assert (row.status, row.locked_by) == ("running", "thief")  # the victim's result was dropped


def test_periodic_jobs_once_per_period_across_workers(
    job_settings: Settings, engine: Engine
) -> None:
    ticks: list[str] = []
    spec = HandlerSpec(
        kind="test.tick",
        fn=lambda ctx, _payload: ticks.append(ctx.job_id),
        is_async=False,
        timeout=5,
        concurrency=None,
        retry_schedule=None,
        every=0.25,
    )

    async def both() -> None:
        workers = [Worker(job_settings, registry={"test.tick": spec}) for _ in range(2)]
        for w in workers:
            await w.start()
        await asyncio.sleep(1.2)
        for w in workers:
            await w.stop()

    asyncio.run(both())
    keys = [j.dedupe_key or "" for j in jobs(engine)]
    assert 4 <= len(keys) <= 6 and len(set(keys)) == len(keys)
    assert all(k.startswith("every:") for k in keys)
    assert sorted(ticks) == sorted(j.id for j in jobs(engine) if j.status == "succeeded")
