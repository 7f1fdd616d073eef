"""The calendar events table (the spec's "Events")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class CalendarEvent(OrgScoped, Base):
    """An event. ``number`` is the per-organization counter behind ``reference_id``
    (``EVT-<number>``). ``created_by`` is a plain id: EventResponse requires it, and users
    are deactivated, never deleted."""

    __tablename__ = "calendar_events"
    __table_args__ = (
        UniqueConstraint("org_id", "number", name="uq_calendar_events_org_number"),
        # listEvents: by start date within an organization.
        Index("ix_calendar_events_org_start", "org_id", "start_date", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(4096))
    description: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    start_date: Mapped[datetime]
    end_date: Mapped[datetime]
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
