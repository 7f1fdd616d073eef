"""Tables of the shared sub-resources. Rows name their parent by ``owner_type`` (the
``Parent.kind``: ``"task"``, ``"campaign"``, ...) and ``owner_id``; a parent's rows go
with its organization (the parents themselves are archived, not deleted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

# Attachment.kind: an uploaded file kept in storage, or a link (addUrlToTask).
FILE, URL = "file", "url"


class Comment(OrgScoped, Base):
    """A comment on a parent, or on a part of it (``scope_id``: a task's sub-step).
    ``parent_id`` makes it a reply to a top-level comment of the same scope (threads are
    one level deep). ``created_at`` keeps sub-second precision because it is the list
    order: comments posted within one second still list in the order they were posted
    (the wire shows whole seconds)."""

    __tablename__ = "comments"
    __table_args__ = (
        Index(
            "ix_comments_owner_scope_created",
            *("owner_type", "owner_id", "scope_id", "created_at", "id"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(32))
    scope_id: Mapped[str | None] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(Text)
    is_resolved: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommentAttachment(OrgScoped, Base):
    """A file attached to a comment: ``storage_key`` is the comment's own copy of the
    upload, so a later upload to the same key cannot change it."""

    __tablename__ = "comment_attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    comment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(100))
    mime_type: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(OrgScoped, Base):
    """A file or a link attached to a parent.

    Files keep their own storage object (``storage_key``, copied from the upload key so a
    re-upload to that key cannot change them). ``source_type``/``source_id`` name what
    brought the file in (``"comment"`` and the comment's id), so the source can list and
    remove its own attachments; such files belong to their source, which deletes them.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_owner_created", "owner_type", "owner_id", "created_at", "id"),
        Index("ix_attachments_source", "source_type", "source_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(32))
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


class Brief(OrgScoped, Base):
    """A parent's brief (at most one). ``fields`` holds ``[{"name", "settings_field_id",
    "value": [str]}]``, the spec's ``TaskBriefResponse.fields`` (campaign briefs show
    ``name`` and ``value`` only)."""

    __tablename__ = "briefs"

    owner_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    template_id: Mapped[str | None] = mapped_column(String(64))
    template_name: Mapped[str | None] = mapped_column(String(255))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
