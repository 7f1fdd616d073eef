"""Milestones tag: listMilestones, createMilestone, getMilestone, updateMilestone."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.milestones import mapping, service
from cmpapi.wire import (
    ListMilestonesParametersQuery,
    ListMilestonesResponse,
    MilestoneCreateRequest,
    MilestoneResponse,
    MilestoneUpdateRequest,
)

router = Router(tags=["Milestones"])


@router.get(
    "/milestones",
    operation_id="listMilestones",
    response_model=ListMilestonesResponse,
    responses=error_responses(400, 401, 403),
)
async def list_milestones(
    request: Request,
    api: ApiDep,
    params: Annotated[ListMilestonesParametersQuery, Depends(query(ListMilestonesParametersQuery))],
) -> Response:
    """Milestones by due date; ``campaign_id=null`` lists those without a campaign."""
    page = await api.call(service.list_milestones, params)
    data = [mapping.milestone_item(m, api.links) for m in page.items]
    return page_response(ListMilestonesResponse, request, api.links, page, data)


@router.post(
    "/milestones",
    operation_id="createMilestone",
    status_code=201,
    response_model=MilestoneResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_milestone(body: MilestoneCreateRequest, api: ApiDep) -> Response:
    """Create a milestone, optionally linked to tasks."""
    return await api.answer(
        lambda m: wire_response(mapping.milestone_response(m, api.links), 201),
        service.create_milestone,
        body,
    )


@router.get(
    "/milestones/{id}",
    operation_id="getMilestone",
    response_model=MilestoneResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_milestone(id: str, api: ApiDep) -> Response:
    """One milestone."""
    milestone = await api.call(service.get_milestone, id)
    return wire_response(mapping.milestone_response(milestone, api.links))


@router.patch(
    "/milestones/{id}",
    operation_id="updateMilestone",
    response_model=MilestoneResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_milestone(id: str, body: MilestoneUpdateRequest, api: ApiDep) -> Response:
    """Change the given keys; ``tasks`` replaces the linked tasks (``[]``: none)."""
    return await api.answer(
        lambda m: wire_response(mapping.milestone_response(m, api.links)),
        service.update_milestone,
        id,
        body,
    )
