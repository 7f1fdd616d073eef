"""``Parent``: how a resource that holds sub-resources declares itself.

Every shared sub-resource service takes a ``Parent`` and the parent's id; the declaration
says how to load the parent for the caller (404 for unknown ids or another
organization's, 403 for a role that may not) and what happens around a change (events,
``modified_at``). Tasks, campaigns, work requests and events each declare one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields.tables import Field


class Owner(Protocol):
    """What a parent row must have: an id, an organization and a change time."""

    id: str
    org_id: str
    modified_at: datetime


Loader = Callable[[Session, Principal, str], Owner]
FieldsChanged = Callable[[Session, Links, Owner, Sequence[Field]], None]
BriefChanged = Callable[[Session, Links, Owner, str], None]
CommentChanged = Callable[[Session, Links, Owner, str, str], None]


def _silent(*_: object) -> None:
    """The default hook: the parent has no event for this change."""


@dataclass(frozen=True, slots=True)
class Parent:
    """A resource holding sub-resources.

    - ``kind``: the ``owner_type`` stored on sub-resource rows (``"task"``);
    - ``get_op``: the operation serving it (``"getTask"``), for links; ``brief_op`` /
      ``fields_op``: those serving its brief and listing its fields, if links point there
      (each names the parent ``{id}`` in its path);
    - ``update_field``: the operation that changes a field it holds (error messages);
    - ``read`` / ``write``: load the parent for a caller who reads or changes its
      sub-resources (raise NotFound / Forbidden / Invalid, e.g. an archived task);
    - ``fields_changed(session, links, owner, fields)``, ``brief_changed(..., action)``,
      ``comment_changed(..., comment_id, action)``: record the parent's webhook events
      (``action``: ``added`` / ``modified`` / ``removed``); they run before the commit.
    """

    kind: str
    get_op: str
    read: Loader
    write: Loader
    brief_op: str = ""
    fields_op: str = ""
    update_field: str = ""
    fields_changed: FieldsChanged = _silent
    brief_changed: BriefChanged = _silent
    comment_changed: CommentChanged = _silent

    def url(self, links: Links, owner_id: str, operation: str = "") -> str:
        """The absolute URL of the parent (or of ``operation`` on one of its
        sub-resources: ``brief_op``, ``fields_op``)."""
        return links.to(operation or self.get_op, id=owner_id)
