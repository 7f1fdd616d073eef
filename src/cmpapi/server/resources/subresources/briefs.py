"""The brief of any parent (at most one). No operation writes a brief directly: briefs
arrive with the work requests they are made from, which call ``put``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.errors import NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.subresources.parent import Owner, Parent
from cmpapi.server.resources.subresources.tables import Brief

TYPES = ("template", "attachment", "text")


def find(session: Session, parent: Parent, owner_id: str) -> Brief | None:
    """The parent's brief, if it has one."""
    return session.get(Brief, (parent.kind, owner_id))


def get(session: Session, parent: Parent, owner: Owner) -> Brief:
    """The parent's brief (404 when it has none)."""
    brief = find(session, parent, owner.id)
    if brief is None:
        raise NotFound(f"The {parent.kind.replace('_', ' ')} has no brief")
    return brief


def put(
    session: Session,
    links: Links,
    parent: Parent,
    owner: Owner,
    *,
    type: str,
    title: str,
    fields: Sequence[dict[str, Any]] = (),
    template: tuple[str, str] | None = None,
) -> Brief:
    """Give the parent its brief, or replace it; ``Parent.brief_changed`` records
    ``added`` or ``modified`` (flushed, not committed).

    ``fields`` are ``{"name", "settings_field_id" (or None), "value": [str]}``;
    ``template`` is ``(id, name)`` for template briefs.
    """
    if type not in TYPES:
        raise ValueError(f"unknown brief type {type!r}")
    brief = find(session, parent, owner.id)
    action = "modified" if brief else "added"
    if brief is None:
        brief = Brief(
            owner_type=parent.kind, owner_id=owner.id, org_id=owner.org_id, created_at=utcnow()
        )
        session.add(brief)
    brief.type, brief.title, brief.fields = type, title, [dict(f) for f in fields]
    brief.template_id, brief.template_name = template or (None, None)
    brief.modified_at = utcnow()
    session.flush()
    parent.brief_changed(session, links, owner, action)
    return brief


def remove(session: Session, links: Links, parent: Parent, owner: Owner) -> bool:
    """Drop the parent's brief (``removed``); False if it had none."""
    brief = find(session, parent, owner.id)
    if brief is None:
        return False
    session.delete(brief)
    session.flush()
    parent.brief_changed(session, links, owner, "removed")
    return True
