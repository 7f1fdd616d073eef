"""Webhook subscriptions, their deliveries (one per event and webhook) and every attempt.

Deliveries are domain data, not just queue entries: the admin API lists them with their
attempts, and a finished delivery can be sent again (redelivery). They are also the
delivery queue itself (``status``, ``next_attempt_at``, lease columns), claimed like jobs
(``queue.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id
from cmpapi.server.jobs.tables import now

PENDING = "pending"
DELIVERING = "delivering"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATUSES = (PENDING, DELIVERING, SUCCEEDED, FAILED)

PING = "ping"  # event name of test deliveries (service.send_ping); not a CMP event
EXCERPT_LIMIT = 1024  # characters of a response body kept per attempt
ERROR_LIMIT = 2000


class Webhook(OrgScoped, Base):
    """One subscription: POST these events of the organization to ``callback_url``."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_org_name", "org_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    callback_url: Mapped[str] = mapped_column(String(2048))
    # Sent unchanged in the Callback-Secret header (the CMP's only authentication).
    secret: Mapped[str | None] = mapped_column(String(32))
    # ``whsec_<base64>``: the Standard Webhooks signing key (webhook-signature header).
    signing_key: Mapped[str] = mapped_column(String(100))
    event_names: Mapped[list[str]] = mapped_column(PortableJSON())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column()
    # First failed attempt since the last success; null while the endpoint is healthy.
    failing_since: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)
    modified_at: Mapped[datetime] = mapped_column(default=now)


class Delivery(Base):
    """One event for one webhook: the exact body, where it stands, when it runs next."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Fan-out inserts ignore duplicates: two workers cannot deliver one event twice
        # to a webhook as two deliveries.
        UniqueConstraint("event_id", "webhook_id"),
        # Claims look for webhooks with due deliveries (claim.py: a skip scan), then take
        # each one's oldest; the next wake-up time needs the earliest due overall.
        Index("ix_webhook_deliveries_due", "status", "webhook_id", "next_attempt_at"),
        Index("ix_webhook_deliveries_claim", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_lease", "status", "lease_until"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),
        Index("ix_webhook_deliveries_finished", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # No foreign key to organizations: deliveries go with their webhook (cascade), and
    # inserting thousands of them must not lock organization rows.
    org_id: Mapped[str] = mapped_column(String(32))
    webhook_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhooks.id", ondelete="CASCADE")
    )
    # The outbox event (no foreign key: test pings have no outbox row).
    event_id: Mapped[str] = mapped_column(String(32))
    event_name: Mapped[str] = mapped_column(String(64))
    # The JSON body exactly as sent: serialised once, so retries (and their signatures)
    # carry the same bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # since the last (re)queueing
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    lease_until: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column()
    # The request that caused the event (or the redelivery, the ping): for the log lines.
    request_id: Mapped[str | None] = mapped_column(String(128))


class DeliveryAttempt(Base):
    """One POST of a delivery: what came back (or what went wrong) and how long it took."""

    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (
        Index("ix_webhook_delivery_attempts_delivery", "delivery_id", "started_at"),
        Index("ix_webhook_delivery_attempts_webhook", "webhook_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    webhook_id: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column()
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


WEBHOOKS: Table = Webhook.__table__  # type: ignore[assignment]
DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
ATTEMPTS: Table = DeliveryAttempt.__table__  # type: ignore[assignment]
"""Core tables, for the engine's short batched transactions."""


def truncate(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
