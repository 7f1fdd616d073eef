"""Milestones: listMilestones, createMilestone, getMilestone, updateMilestone.

A milestone may be linked to tasks: ``tasks`` in a create or update sets those tasks'
``milestone_id`` (the column ``listTasks`` filters on), and an update's list replaces the
milestone's tasks (``[]`` unlinks them all). A task belongs to one milestone at most, so
linking it moves it from its previous one. A ``campaign_id`` must name a campaign of the
organization (404 naming it otherwise, as ``createTask`` does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import MISSING
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Filters, Page, Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.resources.campaigns.service import require_campaign
from cmpapi.server.resources.milestones.tables import Milestone
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import (
    ListMilestonesParametersQuery,
    MilestoneCreateRequest,
    MilestoneUpdateRequest,
)

BY_DUE_DATE = (Milestone.due_date,)
_HEX_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}")
# listMilestones: campaign_id=null asks for milestones without a campaign.
NULL = "null"
# Module-level clauses with named parameters (``Repository.rows`` caches by identity).
LIST_COLUMNS = (
    Milestone.id,
    Milestone.title,
    Milestone.description,
    Milestone.due_date,
    Milestone.color,
    Milestone.campaign_id,
)
_NO_CAMPAIGN = Milestone.campaign_id.is_(None)
_OF_CAMPAIGN = Milestone.campaign_id == bindparam("campaign_id")
_DUE_FROM = Milestone.due_date >= bindparam("due_from")
_DUE_TO = Milestone.due_date <= bindparam("due_to")


def list_milestones(
    session: Session, principal: Principal, params: ListMilestonesParametersQuery
) -> Page[Any]:
    """Milestones by due date (soonest first); ``due_date__from``/``__to`` are inclusive.
    Rows of ``LIST_COLUMNS``."""
    require(principal, "milestones:read")
    filters = Filters()
    if params.campaign_id is None or params.campaign_id == NULL:
        filters.add(_NO_CAMPAIGN)
    elif isinstance(params.campaign_id, str):
        filters.add(_OF_CAMPAIGN, campaign_id=params.campaign_id)
    if isinstance(params.due_date__from, datetime):
        filters.add(_DUE_FROM, due_from=params.due_date__from)
    if isinstance(params.due_date__to, datetime):
        filters.add(_DUE_TO, due_to=params.due_date__to)
    return Repository(Milestone, session, principal.org_id).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=BY_DUE_DATE,
        offset=params.offset,
        page_size=params.page_size,
        params=filters.values,
    )


def get_milestone(session: Session, principal: Principal, milestone_id: str) -> Milestone:
    """One milestone of the organization."""
    require(principal, "milestones:read")
    return Repository(Milestone, session, principal.org_id).get(milestone_id)


def _checked(session: Session, org_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The request's values as columns: trimmed texts, the due date in UTC, the color
    upper-case; 422 naming a blank title or description, or a color that is not ``#RGB`` or
    ``#RRGGBB``; 404 naming an unknown ``campaign_id``."""
    if "campaign_id" in values:
        require_campaign(session, org_id, values["campaign_id"])
    out = dict(values)
    if "title" in out:
        out["title"] = out["title"].strip()
        if not out["title"]:
            raise Invalid("A milestone needs a title", {"title": "Blank"})
    if isinstance(out.get("description"), str):
        out["description"] = out["description"].strip()
        if not out["description"]:
            raise Invalid("Blank description", {"description": "Blank; send null to clear it"})
    if "due_date" in out:  # answered as stored: in UTC, whole seconds
        out["due_date"] = out["due_date"].astimezone(UTC).replace(microsecond=0)
    if "hex_color" in out:
        color = out.pop("hex_color")
        if not _HEX_COLOR.fullmatch(color):
            raise Invalid("Invalid color", {"hex_color": "A hex color code like #4ECFD5"})
        out["color"] = color.upper()
    return out


def _link_tasks(
    session: Session,
    org_id: str,
    milestone: Milestone,
    items: Sequence[dict[str, Any]],
    replace: bool,
) -> None:
    """Point the given tasks at the milestone (404 naming ``tasks.N.id`` for unknown
    ones); with ``replace`` the milestone's other tasks are unlinked."""
    ids = [item["id"] for item in items]
    found = {
        t.id: t
        for t in session.scalars(select(Task).where(Task.org_id == org_id, Task.id.in_(set(ids))))
    }
    missing = {f"tasks.{n}.id": "Unknown task" for n, i in enumerate(ids) if i not in found}
    if missing:
        raise NotFound("Task not found", missing)
    now = utcnow()
    if replace:
        linked = select(Task).where(Task.org_id == org_id, Task.milestone_id == milestone.id)
        for task in session.scalars(linked):
            if task.id not in found:
                task.milestone_id, task.modified_at = None, now
    for task in found.values():
        if task.milestone_id != milestone.id:
            task.milestone_id, task.modified_at = milestone.id, now


def create_milestone(
    session: Session, principal: Principal, body: MilestoneCreateRequest
) -> Milestone:
    """Create a milestone, optionally linked to tasks."""
    require(principal, "milestones:write")
    values = _checked(session, principal.org_id, body.model_dump(exclude_unset=True))
    tasks = values.pop("tasks", [])
    now = utcnow()
    milestone = Milestone(
        id=new_id(),
        org_id=principal.org_id,
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
        **values,
    )
    session.add(milestone)
    session.flush()
    _link_tasks(session, principal.org_id, milestone, tasks, replace=False)
    session.commit()
    return milestone


def update_milestone(
    session: Session, principal: Principal, milestone_id: str, body: MilestoneUpdateRequest
) -> Milestone:
    """Change the given keys; ``tasks`` replaces the linked tasks."""
    require(principal, "milestones:write")
    milestone = Repository(Milestone, session, principal.org_id).get(milestone_id)
    values = _checked(session, principal.org_id, body.model_dump(exclude_unset=True))
    tasks = values.pop("tasks", MISSING)
    if not values and tasks is MISSING:
        return milestone
    for key, value in values.items():
        setattr(milestone, key, value)
    milestone.modified_at = utcnow()
    if tasks is not MISSING:
        _link_tasks(session, principal.org_id, milestone, tasks, replace=True)
    session.commit()
    return milestone
