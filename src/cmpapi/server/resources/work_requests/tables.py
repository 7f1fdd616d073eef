"""Work request tables: the requests, their creative assets, and the resources (tasks,
campaigns) started from or linked to them.

Files (file form fields, attachment briefs, creative assets) are objects of their own in
the store, copied out of the upload area when they arrive, as task attachments are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

SUBMITTED = "Submitted"
MEDIUM = "Medium"


def precise_now() -> datetime:
    """Now with microseconds: list orders follow it (the wire shows whole seconds)."""
    return datetime.now(UTC)


class WorkRequest(OrgScoped, Base):
    """A work request. ``form_values`` maps a template form field's identifier to its
    stored values (``values.py`` says what each type stores); ``assignees`` is
    ``[{"type": "user"|"team", "id"}]``; ``due_date`` mirrors the ``due_date`` form field
    (the ``order_by=due_date`` key). A task or campaign made from the request carries
    its form as a brief of its own (``starts.py``)."""

    __tablename__ = "work_requests"
    __table_args__ = (
        UniqueConstraint("org_id", "number", name="uq_work_requests_org_number"),
        Index("ix_work_requests_org_created", "org_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("templates.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=SUBMITTED)
    priority: Mapped[str] = mapped_column(String(8), default=MEDIUM)
    form_values: Mapped[dict[str, Any]] = mapped_column(PortableJSON(), default=dict)
    assignees: Mapped[list[dict[str, str]]] = mapped_column(PortableJSON(), default=list)
    due_date: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=precise_now)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkRequestFile(OrgScoped, Base):
    """A stored file of a work request: a creative asset (``field`` None) or the value of
    a file form field / attachment brief (``field`` = the form field's identifier)."""

    __tablename__ = "work_request_files"
    __table_args__ = (Index("ix_work_request_files_request", "work_request_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    work_request_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("work_requests.id", ondelete="CASCADE")
    )
    field: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=precise_now)


class WorkRequestRelatedResource(OrgScoped, Base):
    """A task or campaign started from (``started``) or linked to (``linked``) a work
    request; rows come from ``service.add_related_resource``."""

    __tablename__ = "work_request_related_resources"
    __table_args__ = (
        Index("ix_work_request_related_request", "work_request_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    work_request_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("work_requests.id", ondelete="CASCADE")
    )
    resource_type: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(32))
    relation_type: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=precise_now)
