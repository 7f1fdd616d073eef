"""Label groups and their values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class LabelGroup(OrgScoped, Base):
    """A named set of label values (``listLabelGroups``). The spec has no operation to
    create one: they come from the CLI (``cmpapi labels create-group``) and the demo seed."""

    __tablename__ = "label_groups"
    # Names are unique per organization; the index also serves the list's order by name.
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    # An object may carry at most one value of a single-value group (SettingsLabelGroup).
    has_single_value: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    values: Mapped[list[LabelValue]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="LabelValue.position"
    )


class LabelValue(OrgScoped, Base):
    """One value of a label group, in display order."""

    __tablename__ = "label_values"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("label_groups.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    color: Mapped[str | None] = mapped_column(String(7))
    position: Mapped[int] = mapped_column(Integer, default=0)
