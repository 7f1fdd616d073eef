"""Structured-content tables: content types, their versions, contents and the versions of
a content's field values.

- ``ContentType`` (``sc_content_types``): org-scoped; ``id`` is the wire
  ``content_type_guid``. Its versions are ``ContentTypeVersion`` rows numbered by
  ``sequence`` (1, 2, ...); the latest is the highest ``sequence``
  (``ContentType.latest_version_id`` points at it).
- ``ContentTypeVersion.field_definitions``: the validated wire dicts of the definitions
  (``validation.check_definitions``), as the spec's ``SCContentTypeVersion`` shows them.
- ``Content`` (``sc_contents``): ``id`` is the wire ``content_guid``. A library content
  (``createStructuredContent``) has ``asset_id`` = its own id, the ``library_assets`` row of
  type ``structured_content`` that holds folder, labels, archive flag and ACL. A task's
  content has ``task_id`` set (the task helper owns what it means) and no asset row.
- ``ContentFieldsVersion`` (``sc_content_fields_versions``): one per change of a
  content's fields; ``Content.latest_fields_version_id`` points at the newest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow

# Ids and sources the bodies give (created_by, source_id...): as long as the request
# bounds let a short text be (http/bounds.SHORT_TEXT).
ID_TEXT = 4096


class ContentType(OrgScoped, Base):
    """A content type. ``created_by``/``updated_by`` are the ids the request bodies give
    (the spec makes them body fields); ``latest_version_id`` is the newest version."""

    __tablename__ = "sc_content_types"
    __table_args__ = (Index("ix_sc_content_types_org_created", "org_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    component: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    thumbnail_guid: Mapped[str | None] = mapped_column(String(ID_TEXT))
    source: Mapped[str | None] = mapped_column(String(ID_TEXT))
    source_id: Mapped[str | None] = mapped_column(String(ID_TEXT))
    source_metadata: Mapped[str | None] = mapped_column(Text)
    latest_version_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(ID_TEXT))
    updated_by: Mapped[str] = mapped_column(String(ID_TEXT))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentTypeVersion(OrgScoped, Base):
    """One version of a content type's fields. Versions are never changed or deleted:
    contents keep pointing at the version they were written against."""

    __tablename__ = "sc_content_type_versions"
    __table_args__ = (
        UniqueConstraint("content_type_id", "sequence", name="uq_sc_content_type_versions_seq"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    content_type_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_content_types.id", ondelete="CASCADE")
    )
    sequence: Mapped[int] = mapped_column(Integer)
    expected_locales: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    field_definitions: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON(), default=list)
    created_by: Mapped[str] = mapped_column(String(ID_TEXT))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Content(OrgScoped, Base):
    """A structured content: its content type version, metadata and where it lives (a
    library asset with the same id, or a task)."""

    __tablename__ = "sc_contents"
    __table_args__ = (
        # Migrations and reference checks look contents up by their type version.
        Index("ix_sc_contents_type_version", "content_type_version_id", "id"),
        Index("ix_sc_contents_org_type", "org_id", "content_type_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    content_type_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_content_types.id", ondelete="RESTRICT")
    )
    content_type_version_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_content_type_versions.id", ondelete="RESTRICT")
    )
    title: Mapped[str] = mapped_column(String(255))
    primary_locale: Mapped[str | None] = mapped_column(String(64))
    root_content: Mapped[bool] = mapped_column(Boolean, default=True)
    expired: Mapped[bool] = mapped_column(Boolean, default=False)
    expiry_datetime: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(ID_TEXT))
    source_id: Mapped[str | None] = mapped_column(String(ID_TEXT))
    source_metadata: Mapped[str | None] = mapped_column(Text)
    template_guid: Mapped[str | None] = mapped_column(String(ID_TEXT))
    # Where it lives: a library asset (same id) or a task; the other is None.
    asset_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("library_assets.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    latest_fields_version_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(ID_TEXT))
    updated_by: Mapped[str] = mapped_column(String(ID_TEXT))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentFieldsVersion(OrgScoped, Base):
    """One version of a content's field values: ``fields`` is the stored
    ``{field_key: [{"locale", "field_values": [...]}]}``; ``content_hash`` the SHA-256 of
    its canonical JSON; ``validation`` the ``ContentFieldsVersionValidation.fields`` map
    (empty: valid)."""

    __tablename__ = "sc_content_fields_versions"
    __table_args__ = (Index("ix_sc_content_fields_versions_content", "content_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    content_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("sc_contents.id", ondelete="CASCADE")
    )
    content_type_version_id: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(PortableJSON(), default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    validation: Mapped[dict[str, Any]] = mapped_column(PortableJSON(), default=dict)
    source_id: Mapped[str | None] = mapped_column(String(ID_TEXT))
    source_metadata: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(ID_TEXT))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
