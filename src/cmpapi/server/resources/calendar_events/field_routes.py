"""An event's fields (tag "Events"): listEventFields, updateEventFields."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content
from cmpapi.server.http.router import Router
from cmpapi.server.resources.calendar_events.parent import EVENT
from cmpapi.server.resources.library.files import SignerDep
from cmpapi.server.resources.subresources import mapping, service
from cmpapi.wire import (
    EventFieldsUpdateRequest,
    FieldListResponseItem,
    ListEventFieldsParametersQuery,
    ListEventFieldsResponse,
)

router = Router(tags=["Events"])
FieldsQuery = Annotated[
    ListEventFieldsParametersQuery, Depends(query(ListEventFieldsParametersQuery))
]


@router.get(
    "/events/{id}/fields",
    operation_id="listEventFields",
    response_model=ListEventFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_event_fields(
    request: Request, id: str, params: FieldsQuery, api: ApiDep, sign: SignerDep
) -> Response:
    """The event's fields with their values."""
    page = await api.call(service.list_fields, EVENT, id, params.offset, params.page_size)
    data = [mapping.field(FieldListResponseItem, fv, sign) for fv in page.items]
    return page_response(ListEventFieldsResponse, request, api.links, page, data)


@router.put(
    "/events/{id}/fields",
    operation_id="updateEventFields",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_event_fields(id: str, body: EventFieldsUpdateRequest, api: ApiDep) -> Response:
    """Set the event's fields to exactly the given ones (event_modified if any changed)."""
    await api.call(service.replace_fields, api.links, EVENT, id, body.root)
    return no_content()
