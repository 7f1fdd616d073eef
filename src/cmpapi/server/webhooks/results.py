"""Writing attempt results: the deliveries, the attempt log and the webhooks' health, for a
whole batch of attempts in one transaction.

Health: a webhook's ``failing_since`` is the first failed attempt since its last success
(test pings do not count). A webhook is disabled, with a reason its admin can read, when an
endpoint answers 410 Gone, or when it has failed without a single success for longer than
``disable_after`` (by default the retry schedule's whole span). Disabling fails its pending
deliveries; they stay in the log and can be redelivered.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Update, bindparam, func, or_, select, update

from cmpapi.server.db.base import new_id
from cmpapi.server.jobs.tables import now
from cmpapi.server.webhooks.queue import GONE, Result
from cmpapi.server.webhooks.tables import (
    ATTEMPTS,
    DELIVERIES,
    DELIVERING,
    ERROR_LIMIT,
    EXCERPT_LIMIT,
    FAILED,
    PENDING,
    PING,
    WEBHOOKS,
    truncate,
)


def record_results(
    engine: Engine, worker_id: str, results: Sequence[Result], disable_after: float
) -> set[str]:
    """Write a batch of attempt results in one transaction: the deliveries (only where this
    worker still holds them), one attempt row each, and the webhooks' health. Returns the
    ids of webhooks this batch disabled."""
    at = now()
    with engine.begin() as conn:
        conn.execute(_result_statement(), [_values(r, worker_id, at) for r in results])
        _insert_attempts(conn, results)
        disabled = _update_health(conn, results, disable_after, at)
        # A retry written while an admin disabled the webhook must not linger as pending.
        fail_pending_of_inactive(conn, {r.delivery.webhook_id for r in results}, at)
    return disabled


def _values(r: Result, worker_id: str, at: datetime) -> dict[str, Any]:
    return {
        "b_id": r.delivery.id,
        "b_worker": worker_id,
        "b_status": r.status,
        "b_next": r.next_attempt_at or at,
        "b_code": r.outcome.status_code,
        "b_error": truncate(r.outcome.error, ERROR_LIMIT),
        "b_last": r.outcome.started_at,
        "b_finished": None if r.status == PENDING else at,
    }


@cache
def _result_statement() -> Update:
    return (
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == bindparam("b_id"),
            DELIVERIES.c.locked_by == bindparam("b_worker"),
            DELIVERIES.c.status == DELIVERING,
        )
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next"),
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            last_attempt_at=bindparam("b_last"),
            finished_at=bindparam("b_finished"),
            lease_until=None,
            locked_by=None,
        )
    )


def _insert_attempts(conn: Connection, results: Sequence[Result]) -> None:
    # Every attempt is logged, also one whose lease was lost meanwhile; only deliveries
    # deleted since (with their webhook) have nothing to attach it to.
    ids = [r.delivery.id for r in results]
    existing = set(conn.execute(select(DELIVERIES.c.id).where(DELIVERIES.c.id.in_(ids))).scalars())
    rows = [
        {
            "id": new_id(),
            "delivery_id": r.delivery.id,
            "webhook_id": r.delivery.webhook_id,
            "attempt": r.delivery.attempts,
            "started_at": r.outcome.started_at,
            "latency_ms": r.outcome.latency_ms,
            "status_code": r.outcome.status_code,
            "succeeded": r.outcome.ok,
            "response_excerpt": truncate(r.outcome.excerpt, EXCERPT_LIMIT),
            "error": truncate(r.outcome.error, ERROR_LIMIT),
        }
        for r in results
        if r.delivery.id in existing
    ]
    if rows:
        conn.execute(ATTEMPTS.insert(), rows)


def _update_health(
    conn: Connection, results: Sequence[Result], disable_after: float, at: datetime
) -> set[str]:
    """Track each webhook's failing streak; disable on 410 Gone or a long streak."""
    ok: set[str] = set()
    first_failure: dict[str, datetime] = {}
    gone: dict[str, datetime] = {}
    for r in results:
        webhook_id, started = r.delivery.webhook_id, r.outcome.started_at
        if r.delivery.event_name == PING:
            continue
        if r.outcome.ok:
            ok.add(webhook_id)
            continue
        first_failure[webhook_id] = min(first_failure.get(webhook_id, started), started)
        if r.outcome.status_code == GONE:
            gone[webhook_id] = started
    if ok:  # rewriting a busy webhook's row for every batch would only churn it
        stale = at - timedelta(seconds=1)
        changed = or_(
            WEBHOOKS.c.failing_since.is_not(None),
            WEBHOOKS.c.last_success_at.is_(None),
            WEBHOOKS.c.last_success_at < stale,
        )
        healthy = update(WEBHOOKS).where(WEBHOOKS.c.id.in_(sorted(ok)), changed)
        conn.execute(healthy.values(failing_since=None, last_success_at=at))
    failing = {k: v for k, v in sorted(first_failure.items()) if k not in ok}
    for webhook_id, since in failing.items():
        since_expr = func.coalesce(WEBHOOKS.c.failing_since, since)
        stmt = update(WEBHOOKS).where(WEBHOOKS.c.id == webhook_id)
        conn.execute(stmt.values(failing_since=since_expr, last_failure_at=at))
    disabled: set[str] = set()
    for webhook_id, when in gone.items():
        reason = f"The endpoint answered 410 Gone at {_iso(when)}"
        disabled |= disable(conn, [webhook_id], reason, at)
    return disabled | _disable_long_streaks(conn, list(failing), disable_after, at)


def _disable_long_streaks(
    conn: Connection, webhook_ids: list[str], disable_after: float, at: datetime
) -> set[str]:
    if not webhook_ids:
        return set()
    cutoff = at - timedelta(seconds=disable_after)
    rows = conn.execute(
        select(WEBHOOKS.c.id, WEBHOOKS.c.failing_since).where(
            WEBHOOKS.c.id.in_(webhook_ids),
            WEBHOOKS.c.is_active.is_(True),
            WEBHOOKS.c.failing_since < cutoff,
        )
    ).all()
    disabled: set[str] = set()
    for row in rows:
        reason = (
            f"Every delivery failed from {_iso(row.failing_since)} to {_iso(at)} "
            f"(longer than {disable_after:g} s without a success)"
        )
        disabled |= disable(conn, [row.id], reason, at)
    return disabled


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def disable(conn: Connection, webhook_ids: Sequence[str], reason: str, at: datetime) -> set[str]:
    """Disable the active webhooks among ``webhook_ids`` with ``reason``; their pending
    deliveries fail (they stay replayable). Returns the ids it disabled."""
    stmt = (
        update(WEBHOOKS)
        .where(WEBHOOKS.c.id.in_(list(webhook_ids)), WEBHOOKS.c.is_active.is_(True))
        .values(is_active=False, disabled_reason=reason, disabled_at=at, modified_at=at)
        .returning(WEBHOOKS.c.id)
    )
    done = set(conn.execute(stmt).scalars())
    if done:
        fail_pending_of_inactive(conn, done, at)
    return done


def fail_pending_of_inactive(conn: Connection, webhook_ids: Collection[str], at: datetime) -> None:
    """Fail the pending deliveries of those of ``webhook_ids`` that are inactive now."""
    inactive = list(
        conn.execute(
            select(WEBHOOKS.c.id).where(
                WEBHOOKS.c.id.in_(list(webhook_ids)), WEBHOOKS.c.is_active.is_(False)
            )
        ).scalars()
    )
    if inactive:
        conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.webhook_id.in_(inactive), DELIVERIES.c.status == PENDING)
            .values(status=FAILED, finished_at=at, last_error="webhook disabled")
        )
