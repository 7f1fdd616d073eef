"""Deliveries as a queue: claiming due ones under a lease, writing attempt results in
batches, renewing and releasing leases, reaping the leases of dead workers.

Every function is one short transaction on the engine's own connection; none is open while
a request is in flight. Like the job queue (docs/jobs.md), a claim is exclusive on
PostgreSQL through ``FOR UPDATE SKIP LOCKED`` and on SQLite because its first statement
is a write (SQLite's single writer lock); results are written only where this worker
still holds the lease.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, select, update

from cmpapi import standard_webhooks as signing
from cmpapi.server.db.base import new_id
from cmpapi.server.jobs.schedules import retry_delay
from cmpapi.server.jobs.tables import now
from cmpapi.server.webhooks.client import Endpoint
from cmpapi.server.webhooks.tables import (
    ATTEMPTS,
    DELIVERIES,
    DELIVERING,
    FAILED,
    PENDING,
    SUCCEEDED,
    WEBHOOKS,
)

ACKNOWLEDGED = (200, 202)  # the only statuses the CMP counts as delivered
GONE = 410


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how a webhook's deliveries are sent (read at claim time)."""

    webhook_id: str
    url: str
    secret: str | None
    key: bytes
    endpoint: Endpoint | None  # ``url`` parsed once; None: not a URL (saved by an old version)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds a lease on. ``attempts`` counts this attempt."""

    id: str
    webhook_id: str
    event_name: str
    body: bytes
    attempts: int
    max_attempts: int
    request_id: str | None = None  # the request that caused it (for its log lines)


@dataclass(slots=True)
class Batch:
    """Claimed deliveries and the targets of their webhooks."""

    deliveries: list[Claimed] = field(default_factory=list)
    targets: dict[str, Target] = field(default_factory=dict)
    pending: int = 0  # (fan-out) deliveries created but left for a claim


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt did: a status code, or an error before/instead of one."""

    started_at: datetime
    latency_ms: int | None
    status_code: int | None
    excerpt: str | None
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Acknowledged: 200 or 202, nothing else."""
        return self.status_code in ACKNOWLEDGED and self.error is None


@dataclass(frozen=True, slots=True)
class Result:
    """An attempt and what it decided: ``SUCCEEDED``, ``FAILED`` or ``PENDING`` again at
    ``next_attempt_at``."""

    delivery: Claimed
    outcome: Outcome
    status: str
    next_attempt_at: datetime | None = None


def decide(
    delivery: Claimed, outcome: Outcome, schedule: Sequence[float], retry_after_max: float
) -> Result:
    """The delivery's next state after ``outcome``: done, retried after the schedule's
    (jittered) delay but never before a ``Retry-After`` (capped), or failed for good after
    its last attempt or a 410 Gone."""
    if outcome.ok:
        return Result(delivery, outcome, SUCCEEDED)
    if outcome.status_code == GONE or delivery.attempts >= delivery.max_attempts:
        return Result(delivery, outcome, FAILED)
    delay = retry_delay(schedule, delivery.attempts)
    if outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, retry_after_max))
    return Result(delivery, outcome, PENDING, now() + timedelta(seconds=delay))


def load_targets(conn: Connection, webhook_ids: Iterable[str]) -> dict[str, Target]:
    """Targets of the given webhooks that are still active."""
    rows = conn.execute(
        select(
            WEBHOOKS.c.id, WEBHOOKS.c.callback_url, WEBHOOKS.c.secret, WEBHOOKS.c.signing_key
        ).where(WEBHOOKS.c.id.in_(list(webhook_ids)), WEBHOOKS.c.is_active.is_(True))
    )
    return {
        r.id: Target(
            r.id,
            r.callback_url,
            r.secret,
            signing.key_bytes(r.signing_key),
            _endpoint(r.callback_url),
        )
        for r in rows
    }


def _endpoint(url: str) -> Endpoint | None:
    try:
        return Endpoint.parse(url)
    except ValueError:
        return None


def fail_deliveries(conn: Connection, ids: Sequence[str], reason: str, at: datetime) -> None:
    """End the given deliveries as failed (no further attempt)."""
    conn.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.id.in_(list(ids)))
        .values(status=FAILED, last_error=reason, finished_at=at, lease_until=None, locked_by=None)
    )


# -- leases ---------------------------------------------------------------------------


def _held(worker_id: str, ids: Collection[str]) -> Any:
    return and_(
        DELIVERIES.c.id.in_(list(ids)),
        DELIVERIES.c.locked_by == worker_id,
        DELIVERIES.c.status == DELIVERING,
    )


def extend_leases(
    engine: Engine, worker_id: str, ids: Collection[str], lease_seconds: float
) -> set[str]:
    """Renew the leases of ``ids``; returns those ``worker_id`` still holds."""
    if not ids:
        return set()
    until = now() + timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        stmt = update(DELIVERIES).where(_held(worker_id, ids)).values(lease_until=until)
        return set(conn.execute(stmt.returning(DELIVERIES.c.id)).scalars())


def release(engine: Engine, worker_id: str, ids: Collection[str]) -> int:
    """Give back deliveries this worker holds but did not attempt (or whose attempt was
    interrupted): pending, due now, the attempt not counted."""
    if not ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(
            update(DELIVERIES)
            .where(_held(worker_id, ids))
            .values(
                status=PENDING,
                attempts=DELIVERIES.c.attempts - 1,
                next_attempt_at=now(),
                lease_until=None,
                locked_by=None,
            )
        ).rowcount


def reap(engine: Engine) -> int:
    """Queue again deliveries whose worker's lease expired (it died or hung); fail those
    that were on their last attempt. The lost attempt is logged with what is known."""
    at = now()
    expired = and_(DELIVERIES.c.status == DELIVERING, DELIVERIES.c.lease_until < at)
    with engine.connect() as conn:  # read-only probe first: no write lock when none expired
        if conn.execute(select(DELIVERIES.c.id).where(expired).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                DELIVERIES.c.id,
                DELIVERIES.c.webhook_id,
                DELIVERIES.c.attempts,
                DELIVERIES.c.max_attempts,
            )
            .where(expired)
            .with_for_update(skip_locked=True)
        ).all()
        error = "worker lost during the attempt (its lease expired)"
        if rows:
            conn.execute(
                ATTEMPTS.insert(),
                [
                    {
                        "id": new_id(),
                        "delivery_id": r.id,
                        "webhook_id": r.webhook_id,
                        "attempt": r.attempts,
                        "started_at": at,
                        "succeeded": False,
                        "error": error,
                    }
                    for r in rows
                ],
            )
        last = [r.id for r in rows if r.attempts >= r.max_attempts]
        again = [r.id for r in rows if r.attempts < r.max_attempts]
        if last:
            fail_deliveries(conn, last, error, at)
        if again:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id.in_(again))
                .values(
                    status=PENDING,
                    next_attempt_at=at,
                    lease_until=None,
                    locked_by=None,
                    last_error=error,
                )
            )
    return len(rows)


def prune(engine: Engine, before: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` deliveries (and their attempts) finished before ``before``."""
    old = (
        select(DELIVERIES.c.id)
        .where(DELIVERIES.c.status.in_((SUCCEEDED, FAILED)), DELIVERIES.c.finished_at < before)
        .limit(limit)
    )
    with engine.begin() as conn:
        ids = list(conn.execute(old).scalars())
        if not ids:
            return 0
        conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.delivery_id.in_(ids)))
        return conn.execute(delete(DELIVERIES).where(DELIVERIES.c.id.in_(ids))).rowcount


def next_wakeup(engine: Engine) -> datetime | None:
    """When something will need a worker: the next pending attempt, or the end of a lease
    some (maybe dead) worker holds."""
    with engine.connect() as conn:
        due = conn.execute(
            select(func.min(DELIVERIES.c.next_attempt_at)).where(DELIVERIES.c.status == PENDING)
        ).scalar()
        lease = conn.execute(
            select(func.min(DELIVERIES.c.lease_until)).where(DELIVERIES.c.status == DELIVERING)
        ).scalar()
    times = [t for t in (due, lease) if t is not None]
    return min(times) if times else None


def claimed_from(row: Any) -> Claimed:
    """A ``Claimed`` from a row with the claimed columns."""
    body = row.body.encode()
    return Claimed(
        row.id, row.webhook_id, row.event_name, body, row.attempts, row.max_attempts, row.request_id
    )


def fail_held(engine: Engine, worker_id: str, ids: Collection[str], reason: str) -> None:
    """End deliveries this worker holds but will not attempt (their webhook was disabled)."""
    if ids:
        with engine.begin() as conn:
            stmt = select(DELIVERIES.c.id).where(_held(worker_id, ids))
            held = list(conn.execute(stmt).scalars())
            if held:
                fail_deliveries(conn, held, reason, now())
