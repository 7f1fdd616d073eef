"""Library tables: folders and the access-control entries of folders and assets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, new_id, utcnow


class Folder(OrgScoped, Base):
    """A library folder. ``id_path`` is the materialised path of ids, ``/root/.../self/``:
    subtree queries and inherited permissions are one ``LIKE`` away."""

    __tablename__ = "library_folders"
    __table_args__ = (Index("ix_library_folders_org_modified", "org_id", "modified_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("library_folders.id", ondelete="RESTRICT"), index=True
    )
    id_path: Mapped[str] = mapped_column(String(2000), index=True)
    created_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class AclEntry(OrgScoped, Base):
    """Access of one user or team to one folder or asset.

    ``level`` orders the spec's access types: view 1 < comment 2 < edit 3 < delete 4.
    Owners hold ``delete`` and may manage permissions.
    """

    __tablename__ = "library_acl"

    resource_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    accessor_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    accessor_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    level: Mapped[int] = mapped_column(Integer)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
