"""Managed migrations: moving every content of a content type from one of its versions to
the latest (docs/compat.md, "Structured content: migrations").

- ``ManagedMigration`` (``sc_managed_migrations``): one migration. ``status`` moves
  not_started -> in_progress -> success | error (start again from error). ``run`` counts
  the durable jobs that worked on it: each batch of the job checks it still holds the
  current ``run`` (a fence), so a job superseded by its hand-over successor stops.
- ``ManagedMigrationItem`` (``sc_managed_migration_items``): the work list, written when
  the migration starts (the contents then on the source version), one row per content
  with its outcome (not_started, succeeded, errored, skipped) and, for a failure, why.
  A content's item and its migrated fields are written in one transaction: an item that
  is not ``not_started`` is never migrated again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

NOT_STARTED, IN_PROGRESS, SUCCESS, ERROR = "not_started", "in_progress", "success", "error"
# Item outcomes (ContentMigrationSummary's counters, bar ``total``).
SUCCEEDED, ERRORED, SKIPPED = "succeeded", "errored", "skipped"
ITEM_STATUSES = (NOT_STARTED, SUCCEEDED, ERRORED, SKIPPED)


class ManagedMigration(OrgScoped, Base):
    """A managed migration of a content type's contents from ``source_version_id`` to
    ``target_version_id`` (the type's latest version when it was created)."""

    __tablename__ = "sc_managed_migrations"
    __table_args__ = (
        Index("ix_sc_managed_migrations_type", "content_type_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    content_type_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_content_types.id", ondelete="CASCADE")
    )
    source_version_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_content_type_versions.id", ondelete="CASCADE")
    )
    target_version_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_content_type_versions.id", ondelete="CASCADE")
    )
    # As the request gave them (shown back as given); migration.keyed_defaults reads them.
    default_values: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON())
    status: Mapped[str] = mapped_column(String(16), default=NOT_STARTED)
    run: Mapped[int] = mapped_column(Integer, default=0)
    # Why the job itself stopped (not a content's failure: those are on the items).
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ManagedMigrationItem(Base):
    """One content of a started migration and what became of it."""

    __tablename__ = "sc_managed_migration_items"
    __table_args__ = (
        # The job takes the next not_started contents in id order; summaries count by status.
        Index("ix_sc_managed_migration_items_next", "migration_id", "status", "content_id"),
    )

    migration_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_managed_migrations.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed on its own too: deleting a content finds its items.
    content_id: Mapped[str] = mapped_column(
        String(32),
        ForeignKey("sc_contents.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    status: Mapped[str] = mapped_column(String(16), default=NOT_STARTED)
    # A failure: the message and ``{field path: problem}``.
    error: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[dict[str, str] | None] = mapped_column(PortableJSON())
    # The fields version the migration wrote (succeeded items).
    fields_version_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime | None] = mapped_column()
