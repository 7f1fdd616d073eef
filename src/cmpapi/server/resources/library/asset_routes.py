"""Assets (Library and Assets tags): createAsset, listAssets, createAssetVersion,
getAssetUrl, asset fields, file URLs and asset permissions. The type endpoints (getImage,
updateImage, ...) are in ``type_routes``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import MISSING
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.errors import BadRequest
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.links import Links
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging, parse_query, query
from cmpapi.server.http.responses import redirect, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.library import asset_fields, assets, files, mapping, permission_routes
from cmpapi.server.resources.library.events import asset_self
from cmpapi.server.resources.library.tables import Asset, AssetVersion
from cmpapi.server.storage.inspect import UploadedFile
from cmpapi.wire import (
    AssetFieldListResponseItem,
    AssetFieldsUpdateRequest,
    AssetFieldUpdateRequest,
    AssetFieldUpdateResponse,
    AssetPermissionBulkCreateRequest,
    AssetPermissionListResponseItem,
    AssetPermissionUpdateRequest,
    AssetResponse,
    AssetVersionCreateRequest,
    BatchFileUrlResponse,
    FileUrlBulkCreateRequest,
    LibraryAssetCreateRequest,
    LibraryAssetVersionResponse,
    ListAssetFieldsParametersQuery,
    ListAssetFieldsResponse,
    ListAssetPermissionsParametersQuery,
    ListAssetsParametersQuery,
    ListAssetsResponse,
    UpdateAssetFieldsResponse,
)

router = Router(tags=["Library"])


@router.post(
    "/assets",
    operation_id="createAsset",
    status_code=201,
    response_model=AssetResponse,
    responses=error_responses(400, 401, 403),
)
async def create_asset(
    request: Request, body: LibraryAssetCreateRequest, api: ApiDep, file_url: files.FileUrlDep
) -> Response:
    """Create a library asset from an upload key (refusals come before the file is copied;
    a failed write removes the copy)."""
    folder_id = body.folder_id if isinstance(body.folder_id, str) else None
    await api.call(assets.check_create_asset, folder_id)
    stored = await files.claim(request, api, body.key)
    work = api.answer(
        lambda view: wire_response(mapping.asset_response(view, api.links, file_url), 201),
        assets.create_asset,
        api.links,
        body.title,
        folder_id,
        stored,
    )
    return await files.or_remove(request, [stored.key], work)


async def decode_list_query(request: Request) -> ListAssetsParametersQuery:
    """The spec's awkward encodings: ``label`` is URL-encoded JSON, ``fields`` base64 JSON.

    Async on purpose: pure CPU work, so it costs no threadpool hop (FastAPI runs a plain
    ``def`` dependency in a thread)."""
    pairs: list[tuple[str, Any]] = []
    for key, value in request.query_params.multi_items():
        if key == "label":
            pairs.append((key, _json(value, key)))
        elif key == "fields":
            pairs.extend((key, item) for item in _base64_json(value))
        else:
            pairs.append((key, value))
    return parse_query(ListAssetsParametersQuery, pairs)


def _json(value: str, key: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        raise BadRequest(f"{key} must be JSON", {key: "Not valid JSON"}) from exc


def _base64_json(value: str) -> list[Any]:
    try:
        decoded = json.loads(base64.b64decode(value + "=" * (-len(value) % 4), validate=False))
    except (ValueError, binascii.Error) as exc:
        raise BadRequest(
            "fields must be base64-encoded JSON", {"fields": "Not base64 JSON"}
        ) from exc
    if not isinstance(decoded, list):
        raise BadRequest("fields must be a JSON array", {"fields": "Not an array"})
    return decoded


def _filters(params: ListAssetsParametersQuery) -> assets.AssetFilters:
    def given(value: Any) -> Any:
        return None if value is MISSING else value

    labels = given(params.label) or []
    return assets.AssetFilters(
        types=tuple(str(t) for t in params.type),
        label_values=tuple(tuple(item.values) for item in labels if item.values),
        created_from=given(params.created_at__from),
        created_to=given(params.created_at__to),
        modified_from=given(params.modified_at__from),
        modified_to=given(params.modified_at__to),
        folder_id=given(params.folder_id),
        include_subfolders=params.include_subfolder_assets,
        search_text=given(params.search_text),
        campaign_id=given(params.campaign_id),
        field_values=tuple(
            (item.id, tuple(str(v) for v in item.values)) for item in given(params.fields) or []
        ),
    )


@router.get(
    "/assets",
    operation_id="listAssets",
    response_model=ListAssetsResponse,
    responses=error_responses(400, 401, 403),
)
async def list_assets(
    request: Request,
    api: ApiDep,
    file_url: files.FileUrlDep,
    params: Annotated[ListAssetsParametersQuery, Depends(decode_list_query)],
) -> Response:
    """Assets sorted by ``modified_at`` descending, filtered, with ``total_count``."""
    filters = _filters(params)
    page, views = await api.call(assets.list_assets, filters, params.offset, params.page_size)
    return page_response(
        ListAssetsResponse,
        request,
        api.links,
        page,
        [mapping.asset_item(v, api.links, file_url) for v in views],
        total_count=page.total or 0,
    )


@router.post(
    "/assets/{asset_id}/versions",
    operation_id="createAssetVersion",
    status_code=201,
    response_model=LibraryAssetVersionResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def create_asset_version(
    request: Request,
    asset_id: str,
    body: AssetVersionCreateRequest,
    api: ApiDep,
    file_url: files.FileUrlDep,
) -> Response:
    """Upload a new version of an image, video or raw file (refusals come before the file
    is copied; a failed write removes the copy)."""
    await api.call(assets.check_create_asset_version, asset_id)
    stored = await files.claim(request, api, body.key)
    work = api.answer(
        lambda made: wire_response(mapping.version_response(*made, api.links, file_url), 201),
        _new_version,
        api.links,
        asset_id,
        body.title,
        stored,
    )
    return await files.or_remove(request, [stored.key], work)


def _new_version(
    session: Session,
    principal: Principal,
    links: Links,
    asset_id: str,
    title: str,
    file: UploadedFile,
) -> tuple[AssetVersion, Asset]:
    """createAssetVersion's unit of work: the version, and the asset it answers with."""
    version = assets.create_asset_version(session, principal, links, asset_id, title, file)
    return version, assets.load_asset(session, principal, asset_id, "view")


@router.get(
    "/asset-urls/{asset_id}",
    operation_id="getAssetUrl",
    tags=["Assets"],
    status_code=302,
    response_class=Response,
    responses={
        302: {"description": "Redirect to the asset"},
        **error_responses(400, 401, 403, 404),
    },
)
async def get_asset_url(asset_id: str, api: ApiDep) -> Response:
    """302 to the asset's type URL; ``X-Resource-Location: library``."""
    asset = await api.call(assets.get_asset_url, asset_id)
    location = asset_self(api.links, asset)
    return redirect(location, {"X-Resource-Location": "library"})


class AssetPermissionQuery(ListAssetPermissionsParametersQuery, Paging):  # type: ignore[misc]
    """The spec's access filters plus paging (the response paginates)."""


PERMISSIONS = "/assets/{asset_id}/permissions"
PERMISSION = "/assets/{asset_id}/permissions/{accessor_id}"
AssetPermissionQueryDep = Annotated[AssetPermissionQuery, Depends(query(AssetPermissionQuery))]


@router.get(
    PERMISSIONS,
    operation_id="listAssetPermissions",
    response_model=AssetPermissionListResponseItem,
    responses=permission_routes.READ,
)
async def list_asset_permissions(
    request: Request, asset_id: str, api: ApiDep, params: AssetPermissionQueryDep
) -> Response:
    """Users and teams with access to the asset."""
    return await permission_routes.list_permissions(
        request, api, "asset", asset_id, params, AssetPermissionListResponseItem
    )


@router.post(
    PERMISSIONS,
    operation_id="addAssetPermissions",
    status_code=204,
    response_class=Response,
    responses=permission_routes.READ,
)
async def add_asset_permissions(
    asset_id: str, body: AssetPermissionBulkCreateRequest, api: ApiDep
) -> Response:
    """Grant asset access to users or teams."""
    return await permission_routes.add_permissions(api, "asset", asset_id, body)


@router.patch(
    PERMISSION,
    operation_id="updateAssetPermission",
    status_code=204,
    response_class=Response,
    responses=permission_routes.WRITE,
)
async def update_asset_permission(
    asset_id: str, accessor_id: str, body: AssetPermissionUpdateRequest, api: ApiDep
) -> Response:
    """Change an accessor's access level and ownership of the asset."""
    return await permission_routes.update_permission(api, "asset", asset_id, accessor_id, body)


@router.delete(
    PERMISSION,
    operation_id="removeAssetPermission",
    status_code=204,
    response_class=Response,
    responses=permission_routes.WRITE,
)
async def remove_asset_permission(asset_id: str, accessor_id: str, api: ApiDep) -> Response:
    """Remove an accessor's access to the asset (not an owner's)."""
    return await permission_routes.remove_permission(api, "asset", asset_id, accessor_id)


@router.get(
    "/assets/{asset_id}/fields",
    operation_id="listAssetFields",
    response_model=ListAssetFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_asset_fields(
    request: Request,
    asset_id: str,
    api: ApiDep,
    params: Annotated[
        ListAssetFieldsParametersQuery, Depends(query(ListAssetFieldsParametersQuery))
    ],
) -> Response:
    """The asset's custom field values."""
    page = await api.call(asset_fields.list_asset_fields, asset_id, params.offset, params.page_size)
    return page_response(
        ListAssetFieldsResponse,
        request,
        api.links,
        page,
        [values.render_item(AssetFieldListResponseItem, fv) for fv in page.items],
    )


@router.put(
    "/assets/{asset_id}/fields",
    operation_id="updateAssetFields",
    response_model=UpdateAssetFieldsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def update_asset_fields(
    asset_id: str, body: AssetFieldsUpdateRequest, api: ApiDep
) -> Response:
    """Replace the asset's field values."""

    def answer(checked: list[values.FieldValues]) -> Response:
        return wire_response(
            UpdateAssetFieldsResponse.model_validate(
                {
                    "data": [values.render_item(AssetFieldListResponseItem, fv) for fv in checked],
                    "links": {
                        "asset_fields": api.links.to("listAssetFields", asset_id=asset_id),
                        "asset_url": api.links.to("getAssetUrl", asset_id=asset_id),
                    },
                }
            )
        )

    return await api.answer(
        answer, asset_fields.update_asset_fields, api.links, asset_id, body.root
    )


@router.put(
    "/assets/{asset_id}/fields/{field_id}",
    operation_id="updateAssetField",
    response_model=AssetFieldUpdateResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_asset_field(
    asset_id: str, field_id: str, body: AssetFieldUpdateRequest, api: ApiDep
) -> Response:
    """Set one field's values on the asset."""

    def answer(fv: values.FieldValues) -> Response:
        return wire_response(
            values.asset_field_update_response(
                fv,
                asset_url=api.links.to("getAssetUrl", asset_id=asset_id),
                asset_fields_url=api.links.to("listAssetFields", asset_id=asset_id),
            )
        )

    return await api.answer(
        answer, asset_fields.update_asset_field, api.links, asset_id, field_id, body
    )


@router.post(
    "/file-urls",
    operation_id="createFileUrls",
    response_model=BatchFileUrlResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_file_urls(
    body: FileUrlBulkCreateRequest, api: ApiDep, file_url: files.FileUrlDep
) -> Response:
    """Signed download URLs of assets' files; ``null`` for unknown or inaccessible guids."""
    found = await api.call(assets.file_assets, list(body.guids))
    urls = {guid: file_url(asset) if asset else None for guid, asset in found.items()}
    return wire_response(BatchFileUrlResponse.model_validate({"urls": urls}))
