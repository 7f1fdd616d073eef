"""Asset lineages and related assets (Library tag): listAssetLineages, createAssetLineage,
deleteAssetLineage, listRelatedAssets, replaceRelatedAssets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import MISSING

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import files, mapping, relations
from cmpapi.wire import (
    AssetLineageCreateRequest,
    AssetLineageResponse,
    ListAssetLineagesParametersQuery,
    ListAssetLineagesResponse,
    ListRelatedAssetsParametersQuery,
    RelatedAssetsListResponse,
    ReplaceRelatedAssetsRequest,
    ReplaceRelatedAssetsResponse,
)

router = Router(tags=["Library"])


class LineageQuery(ListAssetLineagesParametersQuery):  # type: ignore[misc]
    """``asset_id`` may be repeated (the spec says so in words; its schema is a string)."""

    asset_id: list[str] = []


def _given(value: Any) -> Any:
    return None if value is MISSING else value


@router.get(
    "/asset-lineages",
    operation_id="listAssetLineages",
    response_model=ListAssetLineagesResponse,
    responses=error_responses(400, 401, 403),
)
async def list_asset_lineages(
    request: Request, api: ApiDep, params: Annotated[LineageQuery, Depends(query(LineageQuery))]
) -> Response:
    """Where assets are used, oldest first."""
    created = (_given(params.created_at__from), _given(params.created_at__to))
    used_in = _given(params.used_in)
    page = await api.call(
        relations.list_asset_lineages,
        params.asset_id,
        used_in,
        created,
        params.offset,
        params.page_size,
    )
    return page_response(
        ListAssetLineagesResponse,
        request,
        api.links,
        page,
        [mapping.lineage_item(row, api.links) for row in page.items],
    )


@router.post(
    "/assets/{asset_id}/lineages",
    operation_id="createAssetLineage",
    status_code=201,
    response_model=AssetLineageResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_asset_lineage(
    asset_id: str, body: AssetLineageCreateRequest, api: ApiDep
) -> Response:
    """Add an external lineage to the asset."""
    return await api.answer(
        lambda row: wire_response(mapping.lineage_response(row, api.links), 201),
        relations.create_asset_lineage,
        asset_id,
        body,
    )


@router.delete(
    "/assets/{asset_id}/lineages/{lineage_id}",
    operation_id="deleteAssetLineage",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def delete_asset_lineage(asset_id: str, lineage_id: str, api: ApiDep) -> Response:
    """Delete an asset lineage."""
    await api.call(relations.delete_asset_lineage, asset_id, lineage_id)
    return no_content()


@router.get(
    "/assets/{asset_id}/related-assets",
    operation_id="listRelatedAssets",
    response_model=RelatedAssetsListResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_related_assets(
    request: Request,
    asset_id: str,
    api: ApiDep,
    file_url: files.FileUrlDep,
    params: Annotated[
        ListRelatedAssetsParametersQuery, Depends(query(ListRelatedAssetsParametersQuery))
    ],
) -> Response:
    """The asset's related assets, in their saved order."""
    page, views = await api.call(
        relations.list_related_assets, asset_id, params.offset, params.page_size
    )
    return page_response(
        RelatedAssetsListResponse,
        request,
        api.links,
        page,
        [mapping.related_item(v, api.links, file_url) for v in views],
    )


@router.put(
    "/assets/{asset_id}/related-assets",
    operation_id="replaceRelatedAssets",
    response_model=ReplaceRelatedAssetsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def replace_related_assets(
    asset_id: str, body: ReplaceRelatedAssetsRequest, api: ApiDep
) -> Response:
    """Replace all related assets of the asset."""

    def answer(saved: list[str]) -> Response:
        return wire_response(
            ReplaceRelatedAssetsResponse.model_validate(
                {"id": asset_id, "related_assets": [{"id": i} for i in saved]}
            )
        )

    ids = [item.id for item in body.related_assets]
    return await api.answer(answer, relations.replace_related_assets, asset_id, ids)
