"""The worker: an asyncio loop that claims due jobs, runs their handlers and records results.

Embedded in ``cmpapi serve`` (``embedded_worker``) or standalone (``cmpapi worker``); any
number of workers can share one database. The worker never holds a transaction while a
handler runs, and never blocks its event loop on the database: bookkeeping and sync
handlers run in threads, so a worker embedded in the API server leaves requests alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import cast

import anyio.to_thread
from sqlalchemy import Engine

from cmpapi.server.db.engine import make_engine, make_sessionmaker
from cmpapi.server.db.runner import DbRunner
from cmpapi.server.jobs import queue
from cmpapi.server.jobs.claim import claim, share_slots
from cmpapi.server.jobs.context import JobContext, WorkerResources
from cmpapi.server.jobs.processes import ProcessPool
from cmpapi.server.jobs.queue import ClaimedJob, Result
from cmpapi.server.jobs.recorder import Recorder
from cmpapi.server.jobs.registry import HandlerSpec, PermanentFailure, RetryLater, import_handlers
from cmpapi.server.jobs.schedules import parse_schedule, period_key, retry_delay
from cmpapi.server.jobs.tables import FAILED, QUEUED, SUCCEEDED, now
from cmpapi.server.observability import context as request_context
from cmpapi.server.observability.metrics import watch_pool
from cmpapi.server.settings import Settings

log = logging.getLogger("cmpapi.jobs")

PRUNE_EVERY = 600.0  # seconds between deletions of old finished jobs


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: ``ok``, or an error retried after ``retry_in`` seconds (None:
    the failure is final)."""

    ok: bool
    error: str = ""
    retry_in: float | None = None


def default_worker_id() -> str:
    """``host:pid:random``: unique per worker, readable in ``cmpapi jobs list``."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _resources(settings: Settings, worker_id: str, concurrency: int) -> WorkerResources:
    # Its own engine: long handler sessions must never take the API's connections.
    engine = make_engine(settings.model_copy(update={"db_pool_size": concurrency + 3}))
    watch_pool(engine, "worker", concurrency + 3)
    return WorkerResources(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        db=DbRunner(inline=False, max_threads=concurrency),
        worker_id=worker_id,
        lease_seconds=settings.worker_lease_seconds,
        processes=ProcessPool(settings.worker_processes or os.cpu_count() or 1),
    )


class Worker:
    """Runs jobs of the registered kinds until ``stop()``.

    ``concurrency`` caps jobs running at once (default ``settings.worker_concurrency``);
    ``registry`` defaults to every imported handler plus ``settings.worker_imports``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int | None = None,
        worker_id: str | None = None,
        registry: Mapping[str, HandlerSpec] | None = None,
    ) -> None:
        self.settings = settings
        self.concurrency = concurrency or settings.worker_concurrency
        self.id = worker_id or default_worker_id()
        imports = settings.worker_imports.split(",")
        self.registry = dict(registry if registry is not None else import_handlers(imports))
        self._schedule = parse_schedule(settings.worker_retry_schedule)
        self._lease = settings.worker_lease_seconds
        self.resources = _resources(settings, self.id, self.concurrency)
        self.engine: Engine = self.resources.engine
        self._ops = DbRunner(inline=False, max_threads=2)  # the worker's own bookkeeping
        self._threads = anyio.CapacityLimiter(self.concurrency)  # sync handlers
        self._running: dict[str, tuple[asyncio.Task[None], JobContext]] = {}
        self._per_kind: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._stop_signal = asyncio.Event()  # every JobContext.stopping
        self._maybe_more = False  # the last round left due jobs behind
        self._rotation = 0
        self._wake_at: float | None = None  # monotonic time of a retry this worker scheduled
        self._periodic_next: dict[str, float] = {}
        self._next_reap = 0.0
        self._next_prune = time.monotonic() + 60
        self._tasks: list[asyncio.Task[None]] = []
        self._waker: Callable[[], None] | None = None
        self._recorder = Recorder(self._write_results)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start polling and renewing leases in background tasks."""
        loop = asyncio.get_running_loop()

        def waker() -> None:
            with suppress(RuntimeError):  # the loop is closed: nothing to wake
                loop.call_soon_threadsafe(self._wake.set)

        self._waker = waker
        queue.add_waker(waker)
        self._recorder.start()
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"jobs worker {self.id}"),
            asyncio.create_task(self._renew_leases(), name=f"jobs leases {self.id}"),
        ]
        log.info("job worker %s started: kinds %s", self.id, ", ".join(sorted(self.registry)))

    def request_stop(self) -> None:
        """Ask ``run()`` to stop gracefully (safe from a signal handler)."""
        self._stop_requested.set()
        self._wake.set()

    async def run(self) -> None:
        """Start, run until ``request_stop()``, then stop gracefully."""
        await self.start()
        await self._stop_requested.wait()
        await self.stop()

    async def stop(self) -> None:
        """Stop claiming, give running jobs ``worker_shutdown_timeout`` seconds, cancel the
        rest and release their leases so another worker takes them at once."""
        if not self._tasks:
            return
        self._stopping = True
        self._stop_signal.set()
        self._wake.set()
        loop_task, lease_task = self._tasks
        await loop_task
        interrupted = await self._drain(self.settings.worker_shutdown_timeout)
        await self._recorder.close()
        lease_task.cancel()
        await asyncio.gather(lease_task, return_exceptions=True)
        if interrupted:
            released = await self._ops.run(queue.release, self.engine, self.id, interrupted)
            log.info("job worker %s released %d interrupted jobs", self.id, released)
        if self._waker is not None:
            queue.remove_waker(self._waker)
        await anyio.to_thread.run_sync(self.resources.processes.close)
        self.engine.dispose()
        self._tasks = []
        log.info("job worker %s stopped", self.id)

    async def _drain(self, timeout: float) -> list[str]:
        """Wait for running jobs; cancel those still running after ``timeout``."""
        running = dict(self._running)
        if not running:
            return []
        _done, pending = await asyncio.wait([t for t, _ in running.values()], timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return [job_id for job_id, (task, _) in running.items() if task in pending]

    # -- the loop ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._housekeeping()
                await self._claim_round()
            except Exception:
                # A database restart or a lock timeout: log it and try again next poll.
                log.exception("job worker %s: polling failed", self.id)
            if not self._stopping:
                await self._sleep()

    async def _sleep(self) -> None:
        timeout = self.settings.worker_poll_interval
        if self._wake_at is not None:
            timeout = max(0.0, min(timeout, self._wake_at - time.monotonic()))
            self._wake_at = None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _room(self) -> dict[str, int]:
        """Free slots per kind: the kind's own limit minus its running jobs."""
        return {
            kind: (spec.concurrency or self.concurrency) - self._per_kind[kind]
            for kind, spec in self.registry.items()
        }

    async def _claim_round(self) -> None:
        free = self.concurrency - len(self._running)
        room = {kind: n for kind, n in self._room().items() if n > 0}
        if free <= 0 or not room:
            return
        due = await self._ops.run(queue.due_kinds, self.engine, list(room), now())
        if not due:
            self._maybe_more = False
            return
        self._rotation = (self._rotation + 1) % len(due)
        due = due[self._rotation :] + due[: self._rotation]
        slots = share_slots(due, room, free)
        jobs = await self._ops.run(claim, self.engine, self.id, slots, self._lease)
        for job in jobs:
            self._start(job)
        got = Counter(job.kind for job in jobs)
        # Kinds that filled their share, or got none, may have more due jobs: claim again
        # as soon as a slot frees instead of waiting for the next poll.
        self._maybe_more = any(got[kind] >= slots.get(kind, 0) for kind in due)

    async def _housekeeping(self) -> None:
        """Reap expired leases, enqueue periodic jobs, prune old ones; each on its cadence."""
        clock = time.monotonic()
        if clock >= self._next_reap:
            self._next_reap = clock + min(self._lease / 2, 5.0)
            reaped = await self._ops.run(queue.reap, self.engine)
            if reaped:
                log.info("job worker %s: %d jobs had an expired lease", self.id, reaped)
                self._wake.set()
        for spec in self.registry.values():
            if spec.every and time.time() >= self._periodic_next.get(spec.kind, 0.0):
                key, next_start = period_key(spec.every, time.time())
                await self._ops.run(queue.enqueue_once, self.engine, spec.kind, key)
                self._periodic_next[spec.kind] = next_start
        if clock >= self._next_prune:
            self._next_prune = clock + PRUNE_EVERY
            before = now() - timedelta(seconds=self.settings.jobs_retention)
            await self._ops.run(queue.prune, self.engine, before)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            ids = list(self._running)
            try:
                owned = await self._ops.run(
                    queue.extend_leases, self.engine, self.id, ids, self._lease
                )
            except Exception:
                log.warning("job worker %s: renewing leases failed", self.id, exc_info=True)
                continue
            for job_id in set(ids) - owned:
                if job_id in self._running:
                    self._running[job_id][1].lease_lost = True

    # -- one job -------------------------------------------------------------------------

    def _start(self, job: ClaimedJob) -> None:
        ctx = JobContext(job, self.resources, stopping=self._stop_signal)
        # The task copies the context: the job's log lines name the request that made it.
        with request_context.bind(job.request_id, job.org_id):
            task = asyncio.create_task(self._execute(ctx), name=f"job {job.kind} {job.id}")
        self._running[job.id] = (task, ctx)
        self._per_kind[job.kind] += 1
        task.add_done_callback(partial(self._finished, job))

    def _finished(self, job: ClaimedJob, _task: asyncio.Task[None]) -> None:
        self._running.pop(job.id, None)
        self._per_kind[job.kind] -= 1
        # With a backlog, claim again once half the slots are free rather than after every
        # job: a claim round costs milliseconds at a large backlog, batches amortise it.
        # (The poll interval still fills a lone free slot.)
        free = self.concurrency - len(self._running)
        if self._maybe_more and free >= max(1, self.concurrency // 2):
            self._wake.set()

    async def _execute(self, ctx: JobContext) -> None:
        spec = self.registry[ctx.job.kind]
        clock = time.monotonic()
        outcome = await self._attempt(spec, ctx)
        job = ctx.job
        if job.request_id is not None:  # a request's work: one line saying how it went
            log.info(
                "job %s %s attempt %d %s in %.0f ms",
                job.kind,
                job.id,
                job.attempts,
                "succeeded" if outcome.ok else f"failed: {outcome.error}",
                (time.monotonic() - clock) * 1000,
            )
        if outcome.ok:
            result = Result(job.id, SUCCEEDED)
        elif outcome.retry_in is not None and job.attempts < job.max_attempts:
            result = Result(job.id, QUEUED, outcome.error, outcome.retry_in)
            self._retry_soon(outcome.retry_in)
        else:
            result = Result(job.id, FAILED, outcome.error)
        try:
            owned = await self._recorder.record(result)
        except Exception:
            # The lease will lapse and the job run again: at-least-once, never lost.
            log.exception("job %s %s: recording the outcome failed", job.kind, job.id)
            return
        if not owned:
            log.warning(
                "job %s %s: lease lost to another worker; outcome dropped", job.kind, job.id
            )

    async def _write_results(self, results: list[Result]) -> set[str]:
        return await self._ops.run(queue.record, self.engine, self.id, results)

    def _retry_soon(self, delay: float) -> None:
        at = time.monotonic() + delay
        if self._wake_at is None or at < self._wake_at:
            self._wake_at = at

    async def _attempt(self, spec: HandlerSpec, ctx: JobContext) -> Outcome:
        """Run the handler once under its timeout and classify how it ended."""
        try:
            async with asyncio.timeout(spec.timeout) as deadline:
                await self._call(spec, ctx)
        except RetryLater as exc:
            return Outcome(False, _describe(exc), exc.seconds)
        except PermanentFailure as exc:
            return Outcome(False, _describe(exc))
        except Exception as exc:
            if isinstance(exc, TimeoutError) and deadline.expired():
                error = f"timed out after {spec.timeout:g} s"
            else:
                error = _describe(exc)
                log.warning(
                    "job %s %s attempt %d failed", spec.kind, ctx.job_id, ctx.attempt, exc_info=True
                )
            schedule = spec.retry_schedule or self._schedule
            return Outcome(False, error, retry_delay(schedule, ctx.attempt))
        return Outcome(True)

    async def _call(self, spec: HandlerSpec, ctx: JobContext) -> None:
        if spec.is_async:
            await cast(Awaitable[None], spec.fn(ctx, ctx.job.payload))
            return
        # A sync handler's thread cannot be interrupted: on timeout or shutdown it is
        # abandoned (finishes in the background) and its outcome is not recorded.
        call = partial(spec.fn, ctx, ctx.job.payload)
        await anyio.to_thread.run_sync(call, limiter=self._threads, abandon_on_cancel=True)


@asynccontextmanager
async def embedded_worker(settings: Settings) -> AsyncIterator[None]:
    """An ASGI lifespan: runs a worker beside the API when ``settings.worker_embedded``."""
    if not settings.worker_embedded:
        yield
        return
    worker = Worker(settings)
    await worker.start()
    try:
        yield
    finally:
        await worker.stop()
