"""Writing jobs (``enqueue`` in the caller's transaction) and the worker's state changes.

Every worker-side function is one short transaction on its own connection: no transaction
stays open while a handler runs. Updates made on behalf of a worker check ``locked_by`` and
``status='running'``, so a worker whose lease expired and was taken over cannot overwrite
the new owner's result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Insert, and_, delete, event, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id
from cmpapi.server.jobs.tables import (
    CANCELLED,
    FAILED,
    FINISHED,
    JOBS,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    now,
    truncate_error,
)
from cmpapi.server.observability.context import current_request_id

DEFAULT_MAX_ATTEMPTS = 5
_ENQUEUED = "cmpapi.jobs.enqueued"  # session.info flag: wake local workers after commit


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds a lease on. ``attempts`` counts this attempt (1 = first run)."""

    id: str
    kind: str
    org_id: str | None
    payload: Any
    attempts: int
    max_attempts: int
    request_id: str | None = None  # the request that enqueued it (for its log lines)


def _row_values(
    kind: str,
    payload: Any,
    org_id: str | None,
    run_at: datetime | None,
    max_attempts: int,
    dedupe_key: str | None,
) -> dict[str, Any]:
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    created = now()
    return {
        "id": new_id(),
        "org_id": org_id,
        "kind": kind,
        "payload": payload,
        "status": QUEUED,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or created,
        "dedupe_key": dedupe_key,
        "created_at": created,
        "request_id": current_request_id(),
    }


def _insert_ignoring_duplicates(dialect: str, values: dict[str, Any]) -> Insert:
    # ON CONFLICT DO NOTHING keeps the caller's transaction usable; a failed plain INSERT
    # would abort it on PostgreSQL.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(JOBS).values(values).on_conflict_do_nothing(index_elements=["dedupe_key", "kind"])


def enqueue(
    session: Session,
    kind: str,
    payload: Any,
    *,
    org_id: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    dedupe_key: str | None = None,
) -> Job:
    """Add a job in the caller's transaction: it exists if and only if the caller commits.

    ``payload`` must be JSON-serialisable. ``run_at`` (aware datetime) delays the first run.
    With a ``dedupe_key``, a second enqueue of the same ``kind`` and key (while the first
    row exists, finished or not) adds nothing and returns the existing job.
    """
    values = _row_values(kind, payload, org_id, run_at, max_attempts, dedupe_key)
    if dedupe_key is None:
        job = Job(**values)
        session.add(job)
    else:
        session.execute(_insert_ignoring_duplicates(session.get_bind().dialect.name, values))
        job = session.scalars(
            select(Job).where(Job.kind == kind, Job.dedupe_key == dedupe_key)
        ).one()
    session.info[_ENQUEUED] = True
    return job


def cancel(session: Session, job_id: str) -> bool:
    """Cancel a job that has not started yet (in the caller's transaction). A running job
    cannot be cancelled: its handler would not notice. Returns whether it was cancelled."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == QUEUED)
        .values(status=CANCELLED, finished_at=now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


# Wake-ups: a worker in this process registers a callback; it runs after a session that
# enqueued something commits. Only a latency optimisation: workers also poll.
_WAKERS: set[Callable[[], None]] = set()


def add_waker(callback: Callable[[], None]) -> None:
    """Call ``callback`` (from any thread) whenever this process commits new jobs."""
    _WAKERS.add(callback)


def remove_waker(callback: Callable[[], None]) -> None:
    """Stop calling ``callback``."""
    _WAKERS.discard(callback)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        for callback in list(_WAKERS):
            callback()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


def enqueue_once(engine: Engine, kind: str, dedupe_key: str) -> None:
    """Enqueue ``kind`` with an empty payload unless ``dedupe_key`` exists (periodic jobs)."""
    values = _row_values(kind, {}, None, None, DEFAULT_MAX_ATTEMPTS, dedupe_key)
    with engine.begin() as conn:
        conn.execute(_insert_ignoring_duplicates(engine.dialect.name, values))


def due_kinds(engine: Engine, kinds: Collection[str], at: datetime) -> list[str]:
    """Which of ``kinds`` have a queued job due at ``at``: a read-only probe, so an idle
    worker never takes SQLite's write lock."""
    kinds = list(kinds)
    if not kinds:
        return []
    probes = [
        exists().where(JOBS.c.status == QUEUED, JOBS.c.kind == kind, JOBS.c.run_at <= at)
        for kind in kinds
    ]
    with engine.connect() as conn:
        row = conn.execute(select(*(p.label(f"k{i}") for i, p in enumerate(probes)))).one()
    return [kind for kind, found in zip(kinds, row, strict=True) if found]


@dataclass(frozen=True)
class Result:
    """How an attempt ended, as written to the job: ``SUCCEEDED``, ``FAILED``, or ``QUEUED``
    again after ``delay`` seconds (a retry)."""

    job_id: str
    status: str
    error: str | None = None
    delay: float = 0.0


def record(engine: Engine, worker_id: str, results: Collection[Result]) -> set[str]:
    """Write the results of finished attempts in one transaction (one commit for a batch);
    returns the ids written. A job ``worker_id`` no longer holds (its lease lapsed and
    another worker took it) is left alone."""
    at = now()
    held = and_(JOBS.c.locked_by == worker_id, JOBS.c.status == RUNNING)
    done = [r.job_id for r in results if r.status == SUCCEEDED]
    written: set[str] = set()
    with engine.begin() as conn:
        if done:
            ok = {"status": SUCCEEDED, "finished_at": at, "lease_until": None, "last_error": None}
            stmt = update(JOBS).where(JOBS.c.id.in_(done), held).values(ok)
            written.update(conn.execute(stmt.returning(JOBS.c.id)).scalars())
        for r in results:
            if r.status == SUCCEEDED:
                continue
            values: dict[str, Any] = {
                "status": r.status,
                "lease_until": None,
                "last_error": truncate_error(r.error or ""),
            }
            if r.status == QUEUED:
                values |= {"locked_by": None, "run_at": at + timedelta(seconds=r.delay)}
            else:
                values["finished_at"] = at
            stmt = update(JOBS).where(JOBS.c.id == r.job_id, held).values(values)
            if conn.execute(stmt).rowcount == 1:
                written.add(r.job_id)
    return written


def complete(engine: Engine, job_id: str, worker_id: str) -> bool:
    """Mark a job succeeded; False when ``worker_id`` no longer holds it."""
    return bool(record(engine, worker_id, [Result(job_id, SUCCEEDED)]))


def fail(engine: Engine, job_id: str, worker_id: str, error: str) -> bool:
    """Mark a job failed for good; False when ``worker_id`` no longer holds it."""
    return bool(record(engine, worker_id, [Result(job_id, FAILED, error)]))


def reschedule(engine: Engine, job_id: str, worker_id: str, delay: float, error: str) -> bool:
    """Queue a job again in ``delay`` seconds; False when ``worker_id`` no longer holds it."""
    return bool(record(engine, worker_id, [Result(job_id, QUEUED, error, delay)]))


def release(engine: Engine, worker_id: str, job_ids: Collection[str]) -> int:
    """Give back jobs interrupted by a shutdown: queued, due now, the attempt not counted."""
    if not job_ids:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            update(JOBS)
            .where(
                JOBS.c.id.in_(list(job_ids)),
                JOBS.c.locked_by == worker_id,
                JOBS.c.status == RUNNING,
            )
            .values(
                status=QUEUED,
                run_at=now(),
                attempts=JOBS.c.attempts - 1,
                lease_until=None,
                locked_by=None,
            )
        )
    return result.rowcount


def extend_leases(
    engine: Engine, worker_id: str, job_ids: Collection[str], lease_seconds: float
) -> set[str]:
    """Renew the leases of ``job_ids``; returns those ``worker_id`` still holds."""
    if not job_ids:
        return set()
    with engine.begin() as conn:
        rows = conn.execute(
            update(JOBS)
            .where(
                JOBS.c.id.in_(list(job_ids)),
                JOBS.c.locked_by == worker_id,
                JOBS.c.status == RUNNING,
            )
            .values(lease_until=now() + timedelta(seconds=lease_seconds))
            .returning(JOBS.c.id)
        )
        return set(rows.scalars())


def reap(engine: Engine) -> int:
    """Requeue running jobs whose lease expired (their worker died or hung); fail those
    that were on their last attempt. Returns how many jobs changed."""
    at = now()
    expired = and_(JOBS.c.status == RUNNING, JOBS.c.lease_until < at)
    with engine.connect() as conn:  # read-only probe first: no write lock when none expired
        if conn.execute(select(JOBS.c.id).where(expired).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        failed = conn.execute(
            update(JOBS)
            .where(expired, JOBS.c.attempts >= JOBS.c.max_attempts)
            .values(
                status=FAILED,
                finished_at=at,
                lease_until=None,
                last_error="lease expired on the last attempt (worker lost)",
            )
        ).rowcount
        requeued = conn.execute(
            update(JOBS)
            .where(expired)
            .values(
                status=QUEUED,
                run_at=at,
                lease_until=None,
                locked_by=None,
                last_error="lease expired (worker lost); queued again",
            )
        ).rowcount
    return failed + requeued


def prune(engine: Engine, before: datetime) -> int:
    """Delete jobs that finished before ``before``; returns how many."""
    with engine.begin() as conn:
        return conn.execute(
            delete(JOBS).where(JOBS.c.status.in_(FINISHED), JOBS.c.finished_at < before)
        ).rowcount


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Number of jobs per ``(kind, status)``."""
    rows = session.execute(
        select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    )
    return {(kind, status): n for kind, status, n in rows}
