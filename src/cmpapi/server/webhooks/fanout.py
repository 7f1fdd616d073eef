"""Fan-out: outbox events become one delivery per active webhook subscribed to them.

One transaction takes a batch of undispatched events (``dispatched_at`` set in the same
statement, so two workers never take the same event: ``SKIP LOCKED`` on PostgreSQL, the
single writer lock on SQLite), inserts the deliveries (ignoring an (event, webhook) pair
that exists already) and commits. Deliveries the calling worker has room for are inserted
already leased to it, which saves a claim round trip on the hot path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Insert, Table, Update, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cmpapi.server.db.base import new_id
from cmpapi.server.events.outbox import OutboxEvent
from cmpapi.server.jobs.tables import now
from cmpapi.server.webhooks.queue import Batch, claimed_from, load_targets
from cmpapi.server.webhooks.tables import DELIVERIES, DELIVERING, PENDING, WEBHOOKS

OUTBOX: Table = OutboxEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Offer:
    """Room the calling worker has: deliveries it takes at once under its lease."""

    worker_id: str
    lease_seconds: float
    total: int
    per_webhook: int
    holding: Mapping[str, int]  # deliveries it holds per webhook now


def body_of(event_name: str, data: Any) -> str:
    """The CMP envelope as sent: ``{"event_name": ..., "data": ...}``."""
    return orjson.dumps({"event_name": event_name, "data": data}).decode()


@cache
def _take_events() -> Update:
    undispatched = OUTBOX.c.dispatched_at.is_(None)
    oldest = (
        select(OUTBOX.c.id)
        .where(undispatched)
        .order_by(OUTBOX.c.created_at)
        .limit(bindparam("f_limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(oldest.scalar_subquery()), undispatched)
        .values(dispatched_at=bindparam("f_at"))
        .returning(
            OUTBOX.c.id,
            OUTBOX.c.org_id,
            OUTBOX.c.event_name,
            OUTBOX.c.data,
            OUTBOX.c.created_at,
            OUTBOX.c.request_id,
        )
    )


def has_undispatched(engine: Engine) -> bool:
    """Whether an outbox event waits for fan-out (read-only probe)."""
    with engine.connect() as conn:
        probe = select(OUTBOX.c.id).where(OUTBOX.c.dispatched_at.is_(None)).limit(1)
        return conn.execute(probe).first() is not None


def fan_out(
    engine: Engine, limit: int, max_attempts: int, offer: Offer | None = None
) -> tuple[int, Batch]:
    """Dispatch up to ``limit`` outbox events, oldest first, into deliveries of
    ``max_attempts`` attempts. Returns how many events were taken and the deliveries
    leased to the caller under ``offer``."""
    at = now()
    with engine.begin() as conn:
        events = sorted(
            conn.execute(_take_events(), {"f_limit": limit, "f_at": at}), key=lambda e: e.created_at
        )
        if not events:
            return 0, Batch()
        rows = _delivery_rows(conn, events, at, max_attempts, offer)
        inserted = _insert(conn, rows)
        leased = [r for r in rows if r["status"] == DELIVERING and r["id"] in inserted]
        batch = Batch([claimed_from(_Row(r)) for r in leased], pending=len(rows) - len(leased))
        if leased:
            batch.targets = load_targets(conn, {d.webhook_id for d in batch.deliveries})
    return len(events), batch


def _subscribers(conn: Connection, org_ids: set[str]) -> dict[str, list[tuple[str, set[str]]]]:
    """Active webhooks per organization, with their event names."""
    rows = conn.execute(
        select(WEBHOOKS.c.id, WEBHOOKS.c.org_id, WEBHOOKS.c.event_names)
        .where(WEBHOOKS.c.org_id.in_(list(org_ids)), WEBHOOKS.c.is_active.is_(True))
        .order_by(WEBHOOKS.c.created_at)
    )
    out: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for row in rows:
        out[row.org_id].append((row.id, set(row.event_names or ())))
    return out


def _delivery_rows(
    conn: Connection, events: list[Any], at: datetime, max_attempts: int, offer: Offer | None
) -> list[dict[str, Any]]:
    hooks = _subscribers(conn, {e.org_id for e in events})
    rows: list[dict[str, Any]] = []
    for event in events:
        subscribed = [w for w, names in hooks.get(event.org_id, ()) if event.event_name in names]
        if not subscribed:
            continue
        body = body_of(event.event_name, event.data)
        rows += [
            {
                "id": new_id(),
                "org_id": event.org_id,
                "webhook_id": webhook_id,
                "event_id": event.id,
                "event_name": event.event_name,
                "body": body,
                "status": PENDING,
                "attempts": 0,
                "max_attempts": max_attempts,
                "next_attempt_at": at,
                "created_at": at,
                "lease_until": None,
                "locked_by": None,
                "request_id": event.request_id,
            }
            for webhook_id in subscribed
        ]
    if offer is not None:
        _lease(rows, offer, at)
    return rows


def _lease(rows: list[dict[str, Any]], offer: Offer, at: datetime) -> None:
    """Mark as many rows leased to the offering worker as its room allows."""
    taken: dict[str, int] = defaultdict(int)
    left = offer.total
    lease = {
        "status": DELIVERING,
        "attempts": 1,
        "locked_by": offer.worker_id,
        "lease_until": at + timedelta(seconds=offer.lease_seconds),
    }
    for row in rows:
        if left <= 0:
            return
        webhook_id = row["webhook_id"]
        if offer.holding.get(webhook_id, 0) + taken[webhook_id] < offer.per_webhook:
            taken[webhook_id] += 1
            left -= 1
            row |= lease


@cache
def _insert_statement(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(DELIVERIES).on_conflict_do_nothing(index_elements=["event_id", "webhook_id"])


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert deliveries, skipping (event, webhook) pairs that exist (one executemany;
    without RETURNING it is 3x faster on PostgreSQL, measured); returns the ids of the
    leased rows that were inserted."""
    if not rows:
        return set()
    conn.execute(_insert_statement(conn.dialect.name), rows)
    leased = [r["id"] for r in rows if r["status"] == DELIVERING]
    if not leased:
        return set()
    found = select(DELIVERIES.c.id).where(DELIVERIES.c.id.in_(leased))
    return set(conn.execute(found).scalars())


class _Row:
    """Attribute access to a row dict (``claimed_from`` reads attributes)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
