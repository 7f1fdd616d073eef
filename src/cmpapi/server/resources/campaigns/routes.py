"""Campaigns tag: listCampaigns, createCampaign, getCampaign, updateCampaign. (The brief,
comments, attachments and fields of a campaign are served by the shared sub-resource
mechanism.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.campaigns import mapping, service
from cmpapi.wire import (
    CampaignCreateRequest,
    CampaignResponse,
    CampaignUpdateRequest,
    ListCampaignsParametersQuery,
    ListCampaignsResponse,
)

router = Router(tags=["Campaigns"])


@router.get(
    "/campaigns",
    operation_id="listCampaigns",
    response_model=ListCampaignsResponse,
    responses=error_responses(400, 401, 403),
)
async def list_campaigns(
    request: Request,
    api: ApiDep,
    params: Annotated[ListCampaignsParametersQuery, Depends(query(ListCampaignsParametersQuery))],
) -> Response:
    """Campaigns, newest first, filtered by owner and dates."""
    page = await api.call(service.list_campaigns, params)
    data = [mapping.campaign_list_item(c, api.links) for c in page.items]
    return page_response(ListCampaignsResponse, request, api.links, page, data)


@router.post(
    "/campaigns",
    operation_id="createCampaign",
    status_code=201,
    response_model=CampaignResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_campaign(body: CampaignCreateRequest, api: ApiDep) -> Response:
    """Create a campaign, optionally under a parent campaign."""
    return await api.answer(
        lambda view: wire_response(mapping.campaign_response(view, api.links), 201),
        service.create_campaign,
        api.links,
        body,
    )


@router.get(
    "/campaigns/{id}",
    operation_id="getCampaign",
    response_model=CampaignResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_campaign(id: str, api: ApiDep) -> Response:
    """One campaign."""
    view = await api.call(service.get_campaign, id)
    return wire_response(mapping.campaign_response(view, api.links))


@router.patch(
    "/campaigns/{id}",
    operation_id="updateCampaign",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404),
)
async def update_campaign(id: str, body: CampaignUpdateRequest, api: ApiDep) -> Response:
    """Change the given keys; answers 204 as the spec has it."""
    await api.call(service.update_campaign, api.links, id, body)
    return no_content()
