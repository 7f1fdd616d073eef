"""The campaigns table. Tasks, milestones and calendar events point at their campaign
(``campaign_id``); sub-campaigns at their parent (``parent_id``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

# CampaignResponse.status: a health the team sets; cmpapi has no operation that sets it.
NOT_STARTED = "Not Started"


class Campaign(OrgScoped, Base):
    """A campaign. ``number`` is the per-organization counter behind ``reference_id``
    (``CPN-<number>``); ``labels`` holds label value ids, as tasks do; ``color`` is kept
    although no response shows it."""

    __tablename__ = "campaigns"
    # Also listCampaigns' order: newest (highest number) first; created_at has whole
    # seconds and would tie.
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_campaigns_org_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(4096))
    description: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str | None] = mapped_column(String(7))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=NOT_STARTED)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    labels: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    budget_amount: Mapped[str | None] = mapped_column(String(32))
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
