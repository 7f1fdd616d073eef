"""The ``jobs`` table: the durable queue shared by every API and worker process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, PortableJSON, new_id

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

ERROR_LIMIT = 2000  # characters of last_error kept; tracebacks go to the log


def now() -> datetime:
    """Now with microseconds: leases and compressed retry schedules need sub-second times
    (``db.base.utcnow`` truncates to the CMP's whole-second wire precision)."""
    return datetime.now(UTC)


class Job(Base):
    """One unit of background work. ``status`` moves queued -> running -> succeeded|failed
    (or back to queued for a retry, a released or an expired lease); cancelled from queued.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        # NULL keys never collide, so only jobs that ask for deduplication are constrained.
        # dedupe_key leads: an index led by kind lures PostgreSQL's planner away from the
        # claim indexes whenever the table's statistics are stale (queue tables churn).
        UniqueConstraint("dedupe_key", "kind"),
        # The claim reads due jobs of one kind oldest first, and steps through the
        # organizations with queued jobs of a kind (claim.py: fairness).
        Index("ix_jobs_claim", "status", "kind", "run_at"),
        Index("ix_jobs_fair", "status", "kind", "org_id", "run_at"),
        # The reaper finds running jobs whose lease expired.
        Index("ix_jobs_lease", "status", "lease_until"),
        Index("ix_jobs_finished", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # No foreign key: jobs outlive nothing and must not lock organization rows on insert.
    org_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[Any] = mapped_column(PortableJSON())
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(default=now)
    lease_until: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # The request that enqueued the job: its log lines name it (docs/operations.md#logs).
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


JOBS: Table = Job.__table__  # type: ignore[assignment]
"""The Core table, for the worker's short single-statement transactions."""


def truncate_error(text: str) -> str:
    """``text`` cut to what ``last_error`` keeps."""
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"
