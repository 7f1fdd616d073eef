"""Comment tables: comments on tasks and on their sub-steps, replies, and the files
attached to them (copied out of the upload area into storage of their own)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class TaskComment(OrgScoped, Base):
    """A comment on a task (``sub_step_id`` null: addCommentToTask) or on one of its
    sub-steps. ``parent_id`` makes it a reply to a top-level comment of the same sub-step
    (threads are one level deep). ``created_at`` keeps sub-second precision because it is
    the list order: comments posted within one second still list in the order they were
    posted (the wire shows whole seconds)."""

    __tablename__ = "task_comments"
    __table_args__ = (
        Index("ix_task_comments_sub_step_created", "sub_step_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    sub_step_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("task_sub_steps.id", ondelete="CASCADE")
    )
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("task_comments.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(Text)
    is_resolved: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskCommentAttachment(OrgScoped, Base):
    """A file attached to a comment: ``storage_key`` is the comment's own copy of the
    upload, so a later upload to the same key cannot change it."""

    __tablename__ = "task_comment_attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    comment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_comments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(100))
    mime_type: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
