"""Task metadata tables: attachments (files and links), briefs and publishing intents.

Field values of tasks live in the fields resource's ``field_values`` table
(``owner_type="task"``); nothing here duplicates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

# TaskAttachment.kind: an uploaded file kept in storage, or a link (addUrlToTask).
FILE, URL = "file", "url"


class TaskAttachment(OrgScoped, Base):
    """A file or a link attached to a task; ``listTaskAttachments`` lists both.

    Files keep their own storage object (``storage_key``, copied from the upload key so a
    re-upload to that key cannot change them). ``source_type``/``source_id`` name what
    brought the file in (``"comment"`` and the comment's id), so the source can list and
    remove its own attachments.
    """

    __tablename__ = "task_attachments"
    # listTaskAttachments: one task's rows in creation order.
    __table_args__ = (
        Index("ix_task_attachments_task_created", "task_id", "created_at", "id"),
        Index("ix_task_attachments_source", "source_type", "source_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(String(32), ForeignKey("tasks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048))
    storage_key: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger)
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskBrief(OrgScoped, Base):
    """A task's brief (at most one). ``fields`` holds ``[{"name", "settings_field_id",
    "value": [str]}]``, the spec's ``TaskBriefResponse.fields``."""

    __tablename__ = "task_briefs"

    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    template_id: Mapped[str | None] = mapped_column(String(64))
    template_name: Mapped[str | None] = mapped_column(String(255))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


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
