"""The transactional outbox. ``record_event`` adds an event row to the caller's session, so
the event commits (or rolls back) together with the change that caused it. Delivery reads
these rows later (the webhooks worker); nothing is sent from the request path.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow
from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.observability.context import current_request_id


class OutboxEvent(OrgScoped, Base):
    """One recorded webhook event: ``{"event_name": ..., "data": ...}`` once delivered."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    event_name: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(PortableJSON())
    # Microseconds, strictly increasing within a process (``occurred_now``): events of one
    # change sort in the order they happened.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when the event has been fanned out to deliveries (webhooks issue).
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)
    # The request that caused the event; its deliveries carry it into their log lines.
    request_id: Mapped[str | None] = mapped_column(String(128))


_clock_lock = threading.Lock()
_last = datetime.min.replace(tzinfo=UTC)


def occurred_now() -> datetime:
    """Now with microseconds, never equal to or before the previous call's value."""
    global _last
    with _clock_lock:
        now = datetime.now(UTC)
        _last = now if now > _last else _last + timedelta(microseconds=1)
        return _last


def record_event(
    session: Session, event_name: str, data: dict[str, Any], *, org_id: str
) -> OutboxEvent:
    """Record ``event_name`` with its ``data`` payload in the caller's transaction."""
    if event_name not in EVENT_NAMES:
        raise ValueError(f"unknown webhook event {event_name!r}")
    event = OutboxEvent(
        org_id=org_id,
        event_name=event_name,
        data=data,
        created_at=occurred_now(),
        request_id=current_request_id(),
    )
    session.add(event)
    return event
