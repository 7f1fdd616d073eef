"""A campaign's shared sub-resources (tag "Campaigns"): getCampaignBrief,
addCommentToCampaign, addAttachmentToCampaign, listCampaignFields, addFieldToCampaign,
updateCampaignField."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.campaigns.parent import CAMPAIGN
from cmpapi.server.resources.library.files import SignerDep
from cmpapi.server.resources.subresources import answers, mapping, service
from cmpapi.wire import (
    AttachmentRequest,
    AttachmentResponse,
    CampaignBriefResponse,
    CampaignCommentResponse,
    CampaignFieldUpdateRequest,
    CampaignFieldUpdateResponse,
    CommentCreateRequest,
    FieldListResponseItem,
    ListCampaignFieldsParametersQuery,
    ListCampaignFieldsResponse,
    ObjectFieldCreateRequest,
    ObjectFieldCreateResponse,
)

router = Router(tags=["Campaigns"])
FieldsQuery = Annotated[
    ListCampaignFieldsParametersQuery, Depends(query(ListCampaignFieldsParametersQuery))
]
BRIEF_FIELD_KEYS = ("name", "value")  # CampaignBriefResponse's fields show these only


@router.get(
    "/campaigns/{id}/brief",
    operation_id="getCampaignBrief",
    response_model=CampaignBriefResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_campaign_brief(id: str, api: ApiDep) -> Response:
    """The campaign's brief (404 when it has none)."""
    brief = await api.call(service.get_brief, CAMPAIGN, id)
    return wire_response(
        mapping.brief(CampaignBriefResponse, brief, api.links, CAMPAIGN, BRIEF_FIELD_KEYS)
    )


@router.post(
    "/campaigns/{id}/comments",
    operation_id="addCommentToCampaign",
    status_code=201,
    response_model=CampaignCommentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def add_comment_to_campaign(
    request: Request, id: str, body: CommentCreateRequest, api: ApiDep, sign: SignerDep
) -> Response:
    """Post a comment on the campaign; the author is the token's user."""
    return await answers.post_comment(
        request, api, sign, CAMPAIGN, id, body, CampaignCommentResponse
    )


@router.post(
    "/campaigns/{id}/attachments",
    operation_id="addAttachmentToCampaign",
    status_code=201,
    response_model=AttachmentResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def add_attachment_to_campaign(
    request: Request, id: str, body: AttachmentRequest, api: ApiDep, sign: SignerDep
) -> Response:
    """Attach an uploaded file to the campaign."""
    return await answers.post_attachment(request, api, sign, CAMPAIGN, id, body)


@router.get(
    "/campaigns/{id}/fields",
    operation_id="listCampaignFields",
    response_model=ListCampaignFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_campaign_fields(
    request: Request, id: str, params: FieldsQuery, api: ApiDep, sign: SignerDep
) -> Response:
    """The campaign's fields with their values."""
    page = await api.call(service.list_fields, CAMPAIGN, id, params.offset, params.page_size)
    data = [mapping.field(FieldListResponseItem, fv, sign) for fv in page.items]
    return page_response(ListCampaignFieldsResponse, request, api.links, page, data)


@router.post(
    "/campaigns/{id}/fields",
    operation_id="addFieldToCampaign",
    status_code=201,
    response_model=ObjectFieldCreateResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def add_field_to_campaign(
    id: str, body: ObjectFieldCreateRequest, api: ApiDep, sign: SignerDep
) -> Response:
    """Add one of the organization's fields, with values, to the campaign."""
    return await api.answer(
        lambda fv: wire_response(mapping.field(ObjectFieldCreateResponse, fv, sign), 201),
        service.add_field,
        api.links,
        CAMPAIGN,
        id,
        body,
    )


@router.put(
    "/campaigns/{campaign_id}/fields/{field_id}",
    operation_id="updateCampaignField",
    response_model=CampaignFieldUpdateResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def update_campaign_field(
    campaign_id: str, field_id: str, body: CampaignFieldUpdateRequest, api: ApiDep, sign: SignerDep
) -> Response:
    """Replace the values of a field the campaign holds."""
    return await api.answer(
        lambda fv: wire_response(
            mapping.field_update(
                CampaignFieldUpdateResponse, fv, campaign_id, api.links, CAMPAIGN, sign
            )
        ),
        service.update_field,
        api.links,
        CAMPAIGN,
        campaign_id,
        field_id,
        body,
    )
