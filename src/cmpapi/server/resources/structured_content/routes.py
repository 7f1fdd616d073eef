"""Structured Contents tag, content types: listSCContentTypes, createSCContentType,
getSCContentType, updateSCContentType, listSCContentTypeVersions,
createSCContentTypeVersion, getSCContentTypeVersion.

Every route of this router answers errors in FastAPI's shape, as the spec declares for
these operations (``Router(error_shape="fastapi")``, http/errors.py): 422
``HTTPValidationError``, else ``HTTPException`` ``{"detail": "..."}``. Other routers under
``/structured-content/`` should do the same (``sc_router()``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.structured_content import mapping, types
from cmpapi.server.resources.structured_content.raw import raw_part
from cmpapi.wire import (
    HTTPValidationError,
    ListSCContentTypesParametersQuery,
    ListSCContentTypesResponse,
    ListSCContentTypeVersionsResponse,
    SCContentType,
    SCContentTypeCreateRequest,
    SCContentTypeCreateResponse,
    SCContentTypeUpdateRequest,
    SCContentTypeUpdateResponse,
    SCContentTypeVersion,
    SCContentTypeVersionCreateRequest,
)

TAG = "Structured Contents"


def sc_router() -> Router:
    """A router for ``/structured-content/...`` operations (FastAPI-shaped errors)."""
    return Router(tags=[TAG], error_shape="fastapi")


def validation_responses() -> dict[int | str, dict[str, Any]]:
    """The 422 every ``/structured-content/...`` operation declares."""
    return {422: {"model": HTTPValidationError, "description": "Validation error"}}


router = sc_router()
TYPES = "/structured-content/content-types"


def _created(api: ApiDep, created: types.Created) -> Response:
    answer = mapping.created(created.created, created.content_type, created.version)
    if not created.created:
        return wire_response(answer)
    location = api.links.to("getSCContentType", content_type_id=created.content_type.id)
    return wire_response(answer, 201, {"Location": location})


@router.get(
    TYPES,
    operation_id="listSCContentTypes",
    response_model=ListSCContentTypesResponse,
    responses=validation_responses(),
)
async def list_sc_content_types(
    api: ApiDep,
    params: Annotated[
        ListSCContentTypesParametersQuery,
        ListSCContentTypeVersionsResponse,
        Depends(query(ListSCContentTypesParametersQuery)),
    ],
) -> Response:
    """The organization's content types, a plain array (no paging envelope)."""
    rows = await api.call(types.list_sc_content_types, params)
    items = [mapping.type_model(row, api.links) for row in rows]
    return wire_response(ListSCContentTypesResponse(items))


@router.post(
    TYPES,
    operation_id="createSCContentType",
    status_code=201,
    response_model=SCContentTypeCreateResponse,
    responses=validation_responses(),
)
async def create_sc_content_type(
    request: Request, body: SCContentTypeCreateRequest, api: ApiDep
) -> Response:
    """A content type with its first version (201), or the one already there with the
    same source and source_id (200, ``created: false``)."""
    raw = await raw_part(request, "field_definitions")
    return await api.answer(
        lambda created: _created(api, created), types.create_sc_content_type, body, raw
    )


@router.get(
    TYPES + "/{content_type_id}",
    operation_id="getSCContentType",
    response_model=SCContentType,
    responses=validation_responses(),
)
async def get_sc_content_type(content_type_id: str, api: ApiDep) -> Response:
    """One content type with its latest version."""
    row, latest = await api.call(types.get_sc_content_type, content_type_id)
    return wire_response(mapping.content_type(row, latest, api.links))


@router.post(
    TYPES + "/{content_type_id}",
    operation_id="updateSCContentType",
    response_model=SCContentTypeUpdateResponse,
    responses=validation_responses(),
)
async def update_sc_content_type(
    content_type_id: str, body: SCContentTypeUpdateRequest, api: ApiDep
) -> Response:
    """Change a content type's details (its fields change through new versions)."""
    await api.call(types.update_sc_content_type, content_type_id, body)
    return wire_response(SCContentTypeUpdateResponse(updated=True))


@router.get(
    TYPES + "/{content_type_id}/versions",
    operation_id="listSCContentTypeVersions",
    response_model=ListSCContentTypeVersionsResponse,
    responses=validation_responses(),
)
async def list_sc_content_type_versions(content_type_id: str, api: ApiDep) -> Response:
    """A content type's versions, oldest first, without their definitions."""
    row, versions = await api.call(types.list_sc_content_type_versions, content_type_id)
    items = [mapping.version_model(row, v, api.links) for v in versions]
    return wire_response(ListSCContentTypeVersionsResponse(items))


@router.post(
    TYPES + "/{content_type_id}/versions",
    operation_id="createSCContentTypeVersion",
    status_code=201,
    response_model=SCContentTypeCreateResponse,
    responses=validation_responses(),
)
async def create_sc_content_type_version(
    request: Request, content_type_id: str, body: SCContentTypeVersionCreateRequest, api: ApiDep
) -> Response:
    """A new latest version (201), or ``created: false`` (200) when nothing changed."""
    raw = await raw_part(request, "field_definitions")
    return await api.answer(
        lambda created: _created(api, created),
        types.create_sc_content_type_version,
        content_type_id,
        body,
        raw,
    )


@router.get(
    TYPES + "/{content_type_id}/versions/{version_id}",
    operation_id="getSCContentTypeVersion",
    response_model=SCContentTypeVersion,
    responses=validation_responses(),
)
async def get_sc_content_type_version(
    content_type_id: str, version_id: str, api: ApiDep
) -> Response:
    """One version with its field definitions."""
    row, version = await api.call(types.get_sc_content_type_version, content_type_id, version_id)
    return wire_response(mapping.sc_version(row, version, api.links))
