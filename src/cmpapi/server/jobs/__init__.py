"""Durable background jobs: a ``jobs`` table, leased claims, a worker loop (docs/jobs.md).

What other packages use::

    from cmpapi.server.jobs import enqueue, job_handler, JobContext, RetryLater

    @job_handler("renditions.make", timeout=120, concurrency=2)
    async def make_rendition(ctx: JobContext, payload: dict) -> None:
        data = await ctx.run_in_process(render, payload["asset_id"])
        ...

    enqueue(session, "renditions.make", {"asset_id": a.id}, org_id=a.org_id,
            dedupe_key=f"{a.id}:{a.version}")  # in the service's transaction
"""

from cmpapi.server.jobs.context import JobContext
from cmpapi.server.jobs.processes import ProcessCrashed, ProcessPool
from cmpapi.server.jobs.queue import DEFAULT_MAX_ATTEMPTS, cancel, enqueue
from cmpapi.server.jobs.registry import PermanentFailure, RetryLater, job_handler
from cmpapi.server.jobs.tables import Job

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "Job",
    "JobContext",
    "PermanentFailure",
    "ProcessCrashed",
    "ProcessPool",
    "RetryLater",
    "cancel",
    "enqueue",
    "job_handler",
]
