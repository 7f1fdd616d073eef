"""Claiming due deliveries, webhook by webhook.

A worker asks for deliveries of the webhooks it has room for (``claim``): at most its
per-webhook hold for each, so a receiver with a backlog (slow, or failing and retried)
never fills the worker's whole capacity, and healthy webhooks behind it are claimed in the
same round. The webhooks with due deliveries are found with a skip scan of
``ix_webhook_deliveries_due`` (one index seek per webhook with pending deliveries), so a
round costs O(webhooks x log(deliveries)), not O(backlog).

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` inside each ``UPDATE``, so concurrent
workers take disjoint rows without waiting. SQLite: the transaction's first statement is
an ``UPDATE`` (its single write lock is taken before anything is read); the skip scan runs
before it, read-only, and may be a little stale (a webhook another worker emptied just
yields nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine, Select, Update, bindparam, func, literal, select, update

from cmpapi.server.jobs.tables import now
from cmpapi.server.webhooks.queue import Batch, claimed_from, fail_deliveries, load_targets
from cmpapi.server.webhooks.tables import DELIVERIES, DELIVERING, PENDING

MAX_WEBHOOKS = 5000  # webhooks visited per scan
_RETURNED = (
    DELIVERIES.c.id,
    DELIVERIES.c.webhook_id,
    DELIVERIES.c.event_name,
    DELIVERIES.c.body,
    DELIVERIES.c.attempts,
    DELIVERIES.c.max_attempts,
    DELIVERIES.c.request_id,
)


@cache
def _webhooks_with_pending() -> Select[Any]:
    """Each webhook with pending deliveries and its earliest ``next_attempt_at``."""
    first = (
        select(DELIVERIES.c.webhook_id)
        .where(DELIVERIES.c.status == PENDING)
        .order_by(DELIVERIES.c.webhook_id)
        .limit(1)
        .subquery("first_webhook")
    )
    hooks = select(first.c.webhook_id, literal(1).label("depth")).cte("hooks", recursive=True)
    nxt, head = DELIVERIES.alias("nxt"), DELIVERIES.alias("head")
    following = (
        select(nxt.c.webhook_id)
        .where(nxt.c.status == PENDING, nxt.c.webhook_id > hooks.c.webhook_id)
        .order_by(nxt.c.webhook_id)
        .limit(1)
        .scalar_subquery()
    )
    hooks = hooks.union_all(
        select(following, hooks.c.depth + 1).where(
            hooks.c.webhook_id.is_not(None), hooks.c.depth < MAX_WEBHOOKS
        )
    )
    earliest = (
        select(func.min(head.c.next_attempt_at))
        .where(head.c.status == PENDING, head.c.webhook_id == hooks.c.webhook_id)
        .scalar_subquery()
    )
    return select(hooks.c.webhook_id, earliest.label("due_at")).where(
        hooks.c.webhook_id.is_not(None)
    )


def due_webhooks(engine: Engine) -> list[tuple[str, datetime]]:
    """Webhooks with a pending delivery due now, longest waiting first (read-only, so an
    idle worker never takes SQLite's write lock)."""
    at = now()
    with engine.connect() as conn:
        rows = conn.execute(_webhooks_with_pending()).all()
    due = [(row.webhook_id, row.due_at) for row in rows if row.due_at is not None]
    return sorted(((w, t) for w, t in due if t <= at), key=lambda item: item[1])


@cache
def _take() -> Update:
    picked = (
        select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.status == PENDING,
            DELIVERIES.c.webhook_id == bindparam("c_webhook"),
            DELIVERIES.c.next_attempt_at <= bindparam("c_at"),
        )
        .order_by(DELIVERIES.c.next_attempt_at)
        .limit(bindparam("c_limit"))
        .with_for_update(skip_locked=True)
    )
    # The outer status test drops a row another worker took between the two reads.
    return (
        update(DELIVERIES)
        .where(DELIVERIES.c.id.in_(picked.scalar_subquery()), DELIVERIES.c.status == PENDING)
        .values(
            status=DELIVERING,
            attempts=DELIVERIES.c.attempts + 1,
            locked_by=bindparam("c_worker"),
            lease_until=bindparam("c_lease"),
        )
        .returning(*_RETURNED)
    )


def claim(engine: Engine, worker_id: str, wants: Mapping[str, int], lease_seconds: float) -> Batch:
    """Lease up to ``wants[webhook_id]`` due deliveries of each webhook, oldest first."""
    at = now()
    params = {"c_at": at, "c_worker": worker_id, "c_lease": at + timedelta(seconds=lease_seconds)}
    rows: list[Any] = []
    with engine.begin() as conn:
        for webhook_id, limit in wants.items():
            if limit > 0:
                more = {"c_webhook": webhook_id, "c_limit": limit}
                rows.extend(conn.execute(_take(), params | more))
        if not rows:
            return Batch()
        targets = load_targets(conn, {row.webhook_id for row in rows})
        stale = [r.id for r in rows if r.webhook_id not in targets]
        if stale:  # their webhook was disabled meanwhile: they end here
            fail_deliveries(conn, stale, "webhook disabled", at)
    return Batch([claimed_from(r) for r in rows if r.webhook_id in targets], targets)
