"""``POST /ext/v1/events/trigger``: record a sample event of any of the 43 CMP event names
in the outbox, as a change would - delivered to the webhooks subscribed to it and sent
on the event streams (what ``cmpapi trigger`` does; docs/webhooks.md "Streaming events").
Admins and apps acting as one."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.errors import Invalid
from cmpapi.server.events.catalog import EVENT_NAMES
from cmpapi.server.events.outbox import OutboxEvent, record_event
from cmpapi.server.ext.event_samples import sample_data
from cmpapi.server.ext.event_subjects import SAMPLE_IDS, find_subjects
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.links import Links
from cmpapi.server.http.responses import json_response
from cmpapi.server.http.router import Router
from cmpapi.server.webhooks.views import timestamp

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: event streams"])


class TriggerRequest(BaseModel):
    """``{"event_name": "asset_added"}``."""

    model_config = ConfigDict(extra="forbid")

    event_name: str = Field(max_length=64)


def trigger_event(
    session: Session, principal: Principal, links: Links, event_name: str
) -> OutboxEvent:
    """Record a sample ``event_name`` event of the caller's organization (admins; 422 for
    a name that is not one of the CMP's) and commit it."""
    require(principal, "webhooks:write")
    if event_name not in EVENT_NAMES:
        message = "Not a CMP webhook event name (GET /ext/v1/webhooks lists what to subscribe)"
        raise Invalid("Unknown event name", {"event_name": message})
    subjects = find_subjects(session, principal.org_id)
    data = sample_data(session, links, event_name, subjects)
    event = record_event(session, event_name, data, org_id=principal.org_id)
    session.commit()
    return event


def event_view(event: OutboxEvent, links: Links) -> dict[str, Any]:
    """The recorded event; ``uses_sample_ids`` tells whether ``data`` names a sample id
    (the organization had no object of some kind the event is about)."""
    text = orjson.dumps(event.data).decode()
    return {
        "id": event.id,
        "event_name": event.event_name,
        "created_at": timestamp(event.created_at),
        "data": event.data,
        "uses_sample_ids": any(sample in text for sample in SAMPLE_IDS.values()),
        "links": {"deliveries": links.url(f"/ext/v1/events/{event.id}/deliveries")},
    }


@router.post(
    "/events/trigger",
    operation_id="extTriggerEvent",
    status_code=201,
    responses=error_responses(401, 403, 422),
)
async def ext_trigger_event(body: TriggerRequest, api: ApiDep) -> Response:
    """Record a sample event (delivered to webhooks, sent on event streams)."""
    return await api.answer(
        lambda event: json_response(event_view(event, api.links), 201),
        trigger_event,
        api.links,
        body.event_name,
    )
