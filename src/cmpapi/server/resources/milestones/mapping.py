"""Milestone rows -> wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.milestones.tables import Milestone
from cmpapi.wire import MilestoneResponse


def milestone_response(m: Milestone, links: Links) -> MilestoneResponse:
    """createMilestone, getMilestone, updateMilestone."""
    return MilestoneResponse.model_validate(milestone_item(m, links))


def milestone_item(m: Any, links: Links) -> dict[str, Any]:
    """A ``MilestoneResponse`` as plain data (listMilestones: ``page_response`` checks it),
    from a Milestone or a ``service.LIST_COLUMNS`` row."""
    return {
        "id": m.id,
        "title": m.title,
        "description": m.description,
        "due_date": timestamp(m.due_date),
        "color": m.color,
        "campaign": {"id": m.campaign_id} if m.campaign_id else None,
        "links": {"self": links.to("getMilestone", id=m.id)},
    }
