"""Content previews (``sc_content_previews``): one row per preview request of a task's
structured content, the state of the handshake of shared/reference/cmp-webhooks.md §3b.

A preview is of one fields version of the content (``fields_version_id``, the
``{version_id}`` of the acknowledge / complete paths) and remembers that version's
``content_hash``, which the acknowledging integration must echo. ``status`` moves
``requested`` -> ``acknowledged`` (once) -> ``completed`` (``keyed_previews`` stored; a
later complete replaces them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id
from cmpapi.server.resources.tasks.asset_tables import precise_now

REQUESTED, ACKNOWLEDGED, COMPLETED = "requested", "acknowledged", "completed"


class ContentPreview(OrgScoped, Base):
    """A preview request. ``acknowledged_by`` is the id the integration gave (the spec's
    body field, not necessarily a user of ours); ``keyed_previews`` is the validated
    ``{key: {"status", "url", "name", "locale", "mime_type", "order_index"}}``."""

    __tablename__ = "sc_content_previews"
    __table_args__ = (Index("ix_sc_content_previews_content", "content_id", "requested_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    content_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_contents.id", ondelete="CASCADE")
    )
    fields_version_id: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=REQUESTED)
    requested_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    # microseconds: a content's previews are listed in the order they were requested
    requested_at: Mapped[datetime] = mapped_column(default=precise_now)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    keyed_previews: Mapped[dict[str, Any]] = mapped_column(PortableJSON(), default=dict)
