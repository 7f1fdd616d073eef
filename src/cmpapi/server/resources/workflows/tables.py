"""The workflow definition table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow


class Workflow(OrgScoped, Base):
    """A workflow definition. ``steps`` is the definition tasks copy when they are created
    (a later change does not alter existing tasks)::

        [{"id", "name", "description", "duration",
          "sub_steps": [{"id", "name", "description", "actions": [str], "is_external",
                         "external_system", "is_user_interaction_allowed",
                         "assignees": [{"type": "user"|"team", "id"}]}]}]

    ``extra`` keeps the Settings-only parts (labels, custom fields, channels, flags) so an
    export gives back what was imported.
    """

    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_org_name", "org_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_flexible: Mapped[bool] = mapped_column(Boolean, default=False)
    is_asset_approval_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_smart_duration_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_resource_management_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON(), default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(PortableJSON(), default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
