"""What a handler receives besides its payload: ``JobContext``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cmpapi.server.db.runner import DbRunner
from cmpapi.server.jobs import queue
from cmpapi.server.jobs.processes import ProcessPool
from cmpapi.server.jobs.queue import ClaimedJob
from cmpapi.server.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class WorkerResources:
    """What one worker shares with all its handlers."""

    settings: Settings
    engine: Engine
    sessionmaker: sessionmaker[Session]
    db: DbRunner
    worker_id: str
    lease_seconds: float
    processes: ProcessPool


@dataclass
class JobContext:
    """The job being run and the worker's resources.

    Handlers open their own short sessions (``with ctx.sessionmaker() as s: ...; s.commit()``)
    and must be safe to run twice: a job whose lease expires runs again (at-least-once).
    The worker renews leases of running jobs by itself; ``lease_lost`` turns true when
    another worker took this job over, and a long handler should then stop early.
    ``stopping`` is set when the worker starts to stop (signal, server shutdown): a handler
    that runs until told otherwise winds down then instead of waiting to be cancelled after
    ``CMPAPI_WORKER_SHUTDOWN_TIMEOUT``.
    """

    job: ClaimedJob
    resources: WorkerResources
    lease_lost: bool = False
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.job.id

    @property
    def org_id(self) -> str | None:
        """The organization the job was enqueued for, if any."""
        return self.job.org_id

    @property
    def attempt(self) -> int:
        """Which attempt this is: 1 for the first run."""
        return self.job.attempts

    @property
    def settings(self) -> Settings:
        """The server settings."""
        return self.resources.settings

    @property
    def sessionmaker(self) -> sessionmaker[Session]:
        """Sessions on the worker's own engine (its pool is sized for its concurrency)."""
        return self.resources.sessionmaker

    @property
    def db(self) -> DbRunner:
        """Runs sync database work in a bounded thread pool (for async handlers)."""
        return self.resources.db

    @property
    def worker_id(self) -> str:
        """The id of the worker running the job (``host:pid:random``)."""
        return self.resources.worker_id

    def extend_lease(self) -> bool:
        """Renew the lease now (sync; from a handler's thread). False if it was lost."""
        r = self.resources
        owned = queue.extend_leases(r.engine, r.worker_id, [self.job.id], r.lease_seconds)
        self.lease_lost = self.lease_lost or not owned
        return bool(owned)

    async def heartbeat(self) -> bool:
        """Renew the lease now, from an async handler. False if it was lost."""
        return await self.db.run(self.extend_lease)

    async def run_in_process(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a CPU-heavy, picklable ``fn(*args)`` in the worker's process pool; a crashed
        child raises ``ProcessCrashed`` (the job is retried) and the worker lives on."""
        return await self.resources.processes.run(fn, *args)
