"""Labels (tag "Labels"): listLabelGroups."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import MISSING

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.router import Router
from cmpapi.server.resources.labels import mapping, service
from cmpapi.wire import ListLabelGroupsParametersQuery, ListLabelGroupsResponse

router = Router(tags=["Labels"])


@router.get(
    "/label-groups",
    operation_id="listLabelGroups",
    response_model=ListLabelGroupsResponse,
    responses=error_responses(400, 401, 403),
)
async def list_label_groups(
    request: Request,
    api: ApiDep,
    params: Annotated[
        ListLabelGroupsParametersQuery, Depends(query(ListLabelGroupsParametersQuery))
    ],
) -> Response:
    """Get the list of label groups, sorted by name."""
    source = params.source_org_type
    page, values = await api.call(
        service.list_label_groups,
        source.value if source is not MISSING else None,
        params.offset,
        params.page_size,
    )
    return page_response(
        ListLabelGroupsResponse,
        request,
        api.links,
        page,
        [mapping.label_group(g, values[g.id]) for g in page.items],
    )
