"""The templates and routing-rules tables. Both come into an organization through the
Settings import (updateSettings); the API only reads templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow


class Template(OrgScoped, Base):
    """A template. ``form_fields`` holds the fields as the API answers them
    (``BaseTemplateFormField`` + ``type_specific_meta`` + ``logic_rules``, in order)::

        [{"identifier", "type", "label", "helper_text", "is_required", "is_readonly",
          "sort_order", "type_specific_meta", "logic_rules"}]

    ``source`` keeps the Settings item the template was imported from, so an export gives
    back exactly what was imported (None for templates made otherwise).
    """

    __tablename__ = "templates"
    # listTemplates: by title within an organization.
    __table_args__ = (Index("ix_templates_org_title", "org_id", "title", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    applicable_to: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON(), default=list)
    source: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingRule(OrgScoped, Base):
    """A routing rule (Settings ``routing_rules``): which incoming work requests go to
    which watchers. Kept as imported; cmpapi does not route yet (docs/compat.md)."""

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_org_name", "org_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    template_name: Mapped[str | None] = mapped_column(String(255))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON(), default=list)
    watchers: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
