"""Calendar event rows -> wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.resources.calendar_events.tables import CalendarEvent
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.wire import EventResponse


def event_item(e: Any, links: Links) -> dict[str, Any]:
    """listEvents' item as plain data (``page_response`` checks it), from a
    ``service.LIST_COLUMNS`` row or a CalendarEvent."""
    return {
        "id": e.id,
        "title": e.title,
        "description": e.description,
        "campaign_id": e.campaign_id,
        "start_date": timestamp(e.start_date),
        "end_date": timestamp(e.end_date),
        "is_all_day": e.is_all_day,
        "is_archived": e.is_archived,
        "reference_id": f"EVT-{e.number}",
        "created_by": e.created_by,
        "links": {
            "self": links.to("getEvent", id=e.id),
            "campaign": links.to("getCampaign", id=e.campaign_id) if e.campaign_id else None,
        },
    }


def event_response(e: CalendarEvent, links: Links) -> EventResponse:
    """createEvent, getEvent, updateEvent: ``event_item`` validated."""
    return EventResponse.model_validate(event_item(e, links))
