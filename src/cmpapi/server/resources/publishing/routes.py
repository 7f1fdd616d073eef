"""Publishing tag: listPublishingChannels, getPublishingEvent, listPublishingEventMetadata,
bulkCreatePublishingEventMetadata, getPublishingEventAssetMetadata."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.publishing import channels, mapping, service
from cmpapi.wire import (
    ListPublishingChannelsParametersQuery,
    ListPublishingEventMetadataParametersQuery,
    PublishingChannelListResponse,
    PublishingEventMetadataBulkCreateRequest,
    PublishingEventMetadataBulkCreateResponse,
    PublishingEventMetadataListResponse,
    PublishingEventMetadataResponse,
    PublishingEventResponse,
)

router = Router(tags=["Publishing"])

ChannelsQuery = Annotated[
    ListPublishingChannelsParametersQuery, Depends(query(ListPublishingChannelsParametersQuery))
]
MetadataQuery = Annotated[
    ListPublishingEventMetadataParametersQuery,
    Depends(query(ListPublishingEventMetadataParametersQuery)),
]


@router.get(
    "/publishing-channels",
    operation_id="listPublishingChannels",
    response_model=PublishingChannelListResponse,
    responses=error_responses(400, 401, 403),
)
async def list_publishing_channels(
    request: Request, api: ApiDep, params: ChannelsQuery
) -> Response:
    """The organization's publishing channels by name (``page_size`` up to 1000)."""
    page = await api.call(channels.list_publishing_channels, params.offset, params.page_size)
    data = [mapping.channel_item(c) for c in page.items]
    return page_response(PublishingChannelListResponse, request, api.links, page, data)


@router.get(
    "/publishing-events/{publishing_event_id}",
    operation_id="getPublishingEvent",
    response_model=PublishingEventResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_publishing_event(publishing_event_id: str, api: ApiDep) -> Response:
    """A publishing event: its assets with the ids of their publishing metadata."""
    view = await api.call(service.get_publishing_event, publishing_event_id)
    return wire_response(mapping.event_response(view, api.links))


@router.get(
    "/publishing-events/{publishing_event_id}/publishing-metadata",
    operation_id="listPublishingEventMetadata",
    response_model=PublishingEventMetadataListResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_publishing_event_metadata(
    publishing_event_id: str, api: ApiDep, params: MetadataQuery
) -> Response:
    """The event's publishing metadata, oldest first (not paginated, as the spec says)."""
    view, rows = await api.call(service.list_publishing_event_metadata, publishing_event_id, params)
    data = mapping.metadata_list(view, rows, api.links)
    return wire_response(PublishingEventMetadataListResponse(data=data))


@router.post(
    "/publishing-events/{publishing_event_id}/publishing-metadata",
    operation_id="bulkCreatePublishingEventMetadata",
    response_model=PublishingEventMetadataBulkCreateResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def bulk_create_publishing_event_metadata(
    publishing_event_id: str, body: PublishingEventMetadataBulkCreateRequest, api: ApiDep
) -> Response:
    """Store publishing metadata for the event's assets: each valid item is stored, each
    refused one answered with its error code."""

    def build(result: service.Stored) -> Response:
        view, stored, errors = result
        data = mapping.metadata_list(view, stored, api.links)
        return wire_response(mapping.BulkCreateResponse(data=data, errors=errors))

    return await api.answer(
        build, service.bulk_create_publishing_event_metadata, publishing_event_id, body.data
    )


@router.get(
    "/publishing-events/{publishing_event_id}/assets/{asset_id}/publishing-metadata/"
    "{publishing_metadata_id}",
    operation_id="getPublishingEventAssetMetadata",
    response_model=PublishingEventMetadataResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_publishing_event_asset_metadata(
    publishing_event_id: str, asset_id: str, publishing_metadata_id: str, api: ApiDep
) -> Response:
    """One publishing metadata item of an asset of the event."""
    view, row = await api.call(
        service.get_publishing_event_asset_metadata,
        publishing_event_id,
        asset_id,
        publishing_metadata_id,
    )
    return wire_response(mapping.metadata_list(view, [row], api.links)[0])
