"""Milestone rows -> wire models."""

from __future__ import annotations

from cmpapi.server.http.links import Links
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.milestones.tables import Milestone
from cmpapi.wire import MilestoneResponse


def milestone_response(m: Milestone, links: Links) -> MilestoneResponse:
    """listMilestones items, createMilestone, getMilestone, updateMilestone."""
    return MilestoneResponse.model_validate(
        {
            "id": m.id,
            "title": m.title,
            "description": m.description,
            "due_date": timestamp(m.due_date),
            "color": m.color,
            "campaign": {"id": m.campaign_id} if m.campaign_id else None,
            "links": {"self": links.to("getMilestone", id=m.id)},
        }
    )
