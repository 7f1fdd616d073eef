"""Renditions (Library tag): getRenditionConfig, getRendition, listAssetRenditions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import files, mapping, renditions
from cmpapi.wire import (
    DetailedAssetRenditionResponse,
    ListAssetRenditionsResponse,
    RenditionConfigResponse,
)

router = Router(tags=["Library"])


@router.get(
    "/rendition-configs/{id}",
    operation_id="getRenditionConfig",
    response_model=RenditionConfigResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_rendition_config(id: str, api: ApiDep) -> Response:
    """A rendition configuration of the organization."""
    return wire_response(
        mapping.rendition_config(await api.call(renditions.get_rendition_config, id))
    )


@router.get(
    "/renditions/{id}",
    operation_id="getRendition",
    response_model=DetailedAssetRenditionResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_rendition(id: str, api: ApiDep, sign: files.SignerDep) -> Response:
    """A rendition with its generation status."""
    row, asset = await api.call(renditions.get_rendition, id)
    return wire_response(mapping.rendition_detail(row, asset, sign))


@router.get(
    "/assets/{asset_id}/renditions",
    operation_id="listAssetRenditions",
    response_model=ListAssetRenditionsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_asset_renditions(
    request: Request,
    asset_id: str,
    api: ApiDep,
    sign: files.SignerDep,
    params: Annotated[Paging, Depends(query(Paging))],
) -> Response:
    """The finished renditions of the asset's current version."""
    page = await api.call(
        renditions.list_asset_renditions, asset_id, params.offset, params.page_size
    )
    return page_response(
        ListAssetRenditionsResponse,
        request,
        api.links,
        page,
        [mapping.rendition_item(r, sign) for r in page.items],
    )
