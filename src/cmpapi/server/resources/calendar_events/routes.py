"""Events tag: listEvents, createEvent, getEvent, updateEvent. (listEventFields and
updateEventFields are served by the shared field-values mechanism.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.calendar_events import mapping, service
from cmpapi.wire import (
    EventCreateRequest,
    EventResponse,
    EventUpdateRequest,
    ListEventsParametersQuery,
    ListEventsResponse,
)

router = Router(tags=["Events"])


@router.get(
    "/events",
    operation_id="listEvents",
    response_model=ListEventsResponse,
    responses=error_responses(400, 401, 403),
)
async def list_events(
    request: Request,
    api: ApiDep,
    params: Annotated[ListEventsParametersQuery, Depends(query(ListEventsParametersQuery))],
) -> Response:
    """Events by start date, filtered by a date window and a campaign."""
    page = await api.call(service.list_events, params)
    data = [mapping.event_item(e, api.links) for e in page.items]
    return page_response(ListEventsResponse, request, api.links, page, data)


@router.post(
    "/events",
    operation_id="createEvent",
    status_code=201,
    response_model=EventResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_event(body: EventCreateRequest, api: ApiDep) -> Response:
    """Create an event, optionally in a campaign and with field values."""
    return await api.answer(
        lambda e: wire_response(mapping.event_response(e, api.links), 201),
        service.create_event,
        api.links,
        body,
    )


@router.get(
    "/events/{id}",
    operation_id="getEvent",
    response_model=EventResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_event(id: str, api: ApiDep) -> Response:
    """One event."""
    event = await api.call(service.get_event, id)
    return wire_response(mapping.event_response(event, api.links))


@router.patch(
    "/events/{id}",
    operation_id="updateEvent",
    response_model=EventResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_event(id: str, body: EventUpdateRequest, api: ApiDep) -> Response:
    """Change the given keys."""
    return await api.answer(
        lambda e: wire_response(mapping.event_response(e, api.links)),
        service.update_event,
        api.links,
        id,
        body,
    )
