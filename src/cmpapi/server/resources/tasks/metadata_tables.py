"""Task publishing intents. Attachments, briefs and comments of tasks are the shared
sub-resources (``subresources.tables``, ``owner_type="task"``); field values live in the
fields resource's ``field_values`` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class TaskPublishingIntent(OrgScoped, Base):
    """A request to publish a task on a publishing channel; one per task and channel."""

    __tablename__ = "task_publishing_intents"
    __table_args__ = (UniqueConstraint("task_id", "channel_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(String(32), ForeignKey("tasks.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
