"""The milestones table. Tasks point at their milestone (``tasks.milestone_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class Milestone(OrgScoped, Base):
    """A milestone, optionally in a campaign (``campaign_id``)."""

    __tablename__ = "milestones"
    # listMilestones: by due date within an organization.
    __table_args__ = (Index("ix_milestones_org_due", "org_id", "due_date", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(250))
    due_date: Mapped[datetime]
    color: Mapped[str] = mapped_column(String(7))
    campaign_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
