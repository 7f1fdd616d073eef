"""Work Requests tag: listWorkRequests, createWorkRequest, getWorkRequest,
updateWorkRequest, updateWorkRequestFormField, createWorkRequestCreativeAsset,
deleteWorkRequestCreativeAsset, listWorkRequestApprovedAssets,
listWorkRequestRelatedResources.

Files (file form fields, attachment briefs, creative assets) arrive as upload keys. Each
is copied to a key of the work request's own before the service runs (storage is async,
services are not), after a check that the caller may write and owns the keys; if the
write then fails, the copies are deleted again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.deps import Api
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import files
from cmpapi.server.resources.subresources.files import NewFile, copy_uploads
from cmpapi.server.resources.work_requests import mapping, service
from cmpapi.wire import (
    CreativeAssetRequest,
    CreativeAssetResponse,
    ListWorkRequestApprovedAssetsParametersQuery,
    ListWorkRequestApprovedAssetsResponse,
    ListWorkRequestRelatedResourcesParametersQuery,
    ListWorkRequestRelatedResourcesResponse,
    ListWorkRequestsResponse,
    WorkRequestCreateRequest,
    WorkRequestFormFieldUpdateRequest,
    WorkRequestRequestFormFieldUpdateResponse,
    WorkRequestResponse,
    WorkRequestUpdateRequest,
)

router = Router(tags=["Work Requests"])
KEY_PREFIX = "work-requests"
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Successful response"}}
ApprovedQuery = Annotated[
    ListWorkRequestApprovedAssetsParametersQuery,
    Depends(query(ListWorkRequestApprovedAssetsParametersQuery)),
]
RelatedQuery = Annotated[
    ListWorkRequestRelatedResourcesParametersQuery,
    Depends(query(ListWorkRequestRelatedResourcesParametersQuery)),
]


def _keys(items: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """``(path of the key, key)`` of every file value: file fields' ``{key, name}`` and
    attachment briefs' ``{"type": "attachment_brief", "value": {key, name}}``."""
    out: list[tuple[str, str]] = []
    for path, item in items:
        dumped = item.model_dump(mode="json")
        for m, value in enumerate(dumped.get("values") or []):
            if not isinstance(value, dict):
                continue
            if dumped["type"] == "file" and isinstance(value.get("key"), str):
                out.append((f"{path}.{m}.key", value["key"]))
            elif value.get("type") == "attachment_brief" and isinstance(value.get("value"), dict):
                key = value["value"].get("key")
                if isinstance(key, str):
                    out.append((f"{path}.{m}.value.key", key))
    return out


async def _claim(
    request: Request, api: Api, work_request_id: str | None, keys: list[tuple[str, str]]
) -> dict[str, NewFile]:
    """Check the caller may write and owns every key, then copy each upload to a key of
    its own, by the key's path in the request (``subresources.files.copy_uploads``)."""
    if not keys:
        return {}
    await api.call(service.check_upload_keys, work_request_id, keys)
    copied = await copy_uploads(request, KEY_PREFIX, [(path, "", key) for path, key in keys])
    return {path: new for (path, _), new in zip(keys, copied, strict=True)}


@router.get(
    "/work-requests",
    operation_id="listWorkRequests",
    response_model=ListWorkRequestsResponse,
    responses=error_responses(400, 401, 403),
)
async def list_work_requests(
    request: Request,
    api: ApiDep,
    sign: files.SignerDep,
    params: Annotated[service.WorkRequestsQuery, Depends(query(service.WorkRequestsQuery))],
) -> Response:
    """Work requests, newest first unless ``order_by``/``order_as`` say otherwise."""
    page = await api.call(service.list_work_requests, params)
    data = [mapping.work_request_item(v, api.links, sign) for v in page.items]
    return page_response(ListWorkRequestsResponse, request, api.links, page, data)


@router.post(
    "/work-requests",
    operation_id="createWorkRequest",
    status_code=201,
    response_model=WorkRequestResponse,
    responses=error_responses(401, 403, 422),
)
async def create_work_request(
    request: Request, body: WorkRequestCreateRequest, api: ApiDep, sign: files.SignerDep
) -> Response:
    """Create a work request from a template; the creator is the token's user."""
    items = [(f"form_fields.{n}.values", f.root) for n, f in enumerate(body.form_fields)]
    claimed = await _claim(request, api, None, _keys(items))
    saved = api.answer(
        lambda view: wire_response(mapping.work_request_response(view, api.links, sign), 201),
        service.create_work_request,
        api.links,
        body,
        claimed,
    )
    return await files.or_remove(request, [c.key for c in claimed.values()], saved)


@router.get(
    "/work-requests/{id}",
    operation_id="getWorkRequest",
    response_model=WorkRequestResponse,
    responses=error_responses(401, 403, 404),
)
async def get_work_request(id: str, api: ApiDep, sign: files.SignerDep) -> Response:
    """One work request."""
    view = await api.call(service.get_work_request, id)
    return wire_response(mapping.work_request_response(view, api.links, sign))


@router.patch(
    "/work-requests/{id}",
    operation_id="updateWorkRequest",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **error_responses(400, 401, 403, 404, 422)},
)
async def update_work_request(id: str, body: WorkRequestUpdateRequest, api: ApiDep) -> Response:
    """Change the status, priority or assignees."""
    await api.call(service.update_work_request, api.links, id, body)
    return no_content()


@router.put(
    "/work-requests/{work_request_id}/form-fields/{form_field_identifier}",
    operation_id="updateWorkRequestFormField",
    response_model=WorkRequestRequestFormFieldUpdateResponse,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def update_work_request_form_field(
    request: Request,
    work_request_id: str,
    form_field_identifier: str,
    body: WorkRequestFormFieldUpdateRequest,
    api: ApiDep,
    sign: files.SignerDep,
) -> Response:
    """Replace the values of one form field; files it no longer holds are deleted."""
    payload = body.root
    claimed = await _claim(request, api, work_request_id, _keys([("values", payload)]))
    raw = payload.model_dump(mode="json")["values"]
    gone: list[str] = []

    def answer(done: tuple[Any, dict[str, Any], list[str]]) -> Response:
        view, spec, keys = done
        gone.extend(keys)
        return wire_response(mapping.form_field_update_response(view, spec, sign))

    saved = api.answer(
        answer,
        service.update_work_request_form_field,
        api.links,
        work_request_id,
        form_field_identifier,
        payload.type,
        raw,
        claimed,
    )
    response = await files.or_remove(request, [c.key for c in claimed.values()], saved)
    await files.remove(request, gone)  # committed: the old files are no one's any more
    return response


@router.post(
    "/work-requests/{id}/creative-assets",
    operation_id="createWorkRequestCreativeAsset",
    response_model=CreativeAssetResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_work_request_creative_asset(
    request: Request, id: str, body: CreativeAssetRequest, api: ApiDep, sign: files.SignerDep
) -> Response:
    """Add a creative asset from an upload key."""
    claimed = await _claim(request, api, id, [("key", body.key)])
    new = claimed["key"]
    saved = api.answer(
        lambda row: wire_response(mapping.creative_asset(row, sign)),
        service.create_work_request_creative_asset,
        id,
        NewFile(body.name, new.key, new.mime_type, new.size),
    )
    return await files.or_remove(request, [new.key], saved)


@router.delete(
    "/work-requests/{work_request_id}/creative-assets/{creative_asset_id}",
    operation_id="deleteWorkRequestCreativeAsset",
    status_code=204,
    response_class=Response,
    responses={**NO_CONTENT, **error_responses(400, 401, 403, 404, 422)},
)
async def delete_work_request_creative_asset(
    request: Request, work_request_id: str, creative_asset_id: str, api: ApiDep
) -> Response:
    """Delete a creative asset and its file."""
    key = await api.call(
        service.delete_work_request_creative_asset, work_request_id, creative_asset_id
    )
    await files.remove(request, [key])
    return no_content()


@router.get(
    "/work-requests/{id}/approved-assets",
    operation_id="listWorkRequestApprovedAssets",
    response_model=ListWorkRequestApprovedAssetsResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_work_request_approved_assets(
    request: Request,
    id: str,
    api: ApiDep,
    sign: files.SignerDep,
    params: ApprovedQuery,
) -> Response:
    """The assets of the tasks made from the work request."""
    page = await api.call(
        service.list_work_request_approved_assets, id, params.offset, params.page_size
    )
    data = [mapping.approved_asset(a, sign) for a in page.items]
    return page_response(ListWorkRequestApprovedAssetsResponse, request, api.links, page, data)


@router.get(
    "/work-requests/{id}/related-resources",
    operation_id="listWorkRequestRelatedResources",
    response_model=ListWorkRequestRelatedResourcesResponse,
    responses=error_responses(401, 403, 404),
)
async def list_work_request_related_resources(
    request: Request,
    id: str,
    api: ApiDep,
    params: RelatedQuery,
) -> Response:
    """The tasks and campaigns started from or linked to the work request."""
    page = await api.call(
        service.list_work_request_related_resources, id, params.offset, params.page_size
    )
    data = [mapping.related_resource(r, api.links) for r in page.items]
    return page_response(ListWorkRequestRelatedResourcesResponse, request, api.links, page, data)
