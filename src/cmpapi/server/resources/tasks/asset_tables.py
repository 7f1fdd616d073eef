"""Task asset tables: the assets of a task (not library assets: ``listAssets`` never sees
them), their drafts (numbered file versions), comments on drafts with their attachments,
brand-compliance reviews of drafts, and the upload keys task assets have consumed.

Files are objects of their own in the store (copied out of the upload area, or out of a
forked library asset), so nothing else can change or delete them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

FILE_TYPES = ("image", "video", "raw_file")  # the types that have drafts
ARTICLE = "article"
# A task's structured content (structured_content/task_contents.py): the row lists it among
# the task's assets; its values live in sc_contents under the same id.
STRUCTURED_CONTENT = "structured_content"


def precise_now() -> datetime:
    """Now with microseconds: list orders (assets of a task, comments) follow it, and the
    wire shows whole seconds anyway."""
    return datetime.now(UTC)


class TaskAsset(OrgScoped, Base):
    """An asset of a task. For images, videos and raw files the file columns mirror the
    latest draft (``draft_count`` is its number); articles hold ``html_body`` and have no
    drafts. ``library_asset_id`` is the library asset it was forked from. ``labels`` holds
    label value ids, as tasks do."""

    __tablename__ = "task_assets"
    __table_args__ = (Index("ix_task_assets_task_created", "task_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(200))
    file_extension: Mapped[str | None] = mapped_column(String(20))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str | None] = mapped_column(String(200))
    html_body: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    library_asset_id: Mapped[str | None] = mapped_column(String(32))
    draft_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=precise_now)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskAssetDraft(OrgScoped, Base):
    """One draft (file version) of a task asset, numbered 1, 2, 3... per asset; draft 1 is
    the file the asset was added with."""

    __tablename__ = "task_asset_drafts"
    __table_args__ = (Unique("asset_id", "draft_number", name="uq_task_asset_drafts_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_assets.id", ondelete="CASCADE"), index=True
    )
    draft_number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(200))
    file_extension: Mapped[str | None] = mapped_column(String(20))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskAssetComment(OrgScoped, Base):
    """A comment on one draft of a task asset (the latest when it was posted: the CMP
    lists the comments of an asset's latest version). ``author_id`` is the token's user."""

    __tablename__ = "task_asset_comments"
    __table_args__ = (
        Index("ix_task_asset_comments_draft_created", "draft_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_assets.id", ondelete="CASCADE"), index=True
    )
    draft_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_asset_drafts.id", ondelete="CASCADE")
    )
    value: Mapped[str] = mapped_column(Text)
    is_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=precise_now)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskAssetCommentAttachment(OrgScoped, Base):
    """A file attached to a task asset comment (its own copy of the upload)."""

    __tablename__ = "task_asset_comment_attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    comment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_asset_comments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(200))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskAssetBrandCompliance(OrgScoped, Base):
    """The brand-compliance review of one draft. ``categories`` holds what the reviewer
    set, by category id: ``{"status", "notes", "criteria": {criterion id: {"selected",
    "description"}}}``; names come from the catalogue when read."""

    __tablename__ = "task_asset_brand_compliance"

    draft_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("task_asset_drafts.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    categories: Mapped[dict[str, Any]] = mapped_column(PortableJSON(), default=dict)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskAssetUploadKey(OrgScoped, Base):
    """An upload key consumed by a task asset, draft or comment attachment. The primary key
    refuses a second use, also between two concurrent requests."""

    __tablename__ = "task_asset_upload_keys"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    used_by: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
