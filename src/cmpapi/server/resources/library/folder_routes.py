"""Folders and folder permissions (Library tag): listFolders, createFolder, getFolder,
updateFolder, deleteFolder, and the four folder permission operations."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library import folders, mapping, permission_routes
from cmpapi.wire import (
    FolderCreateRequest,
    FolderPermissionBulkCreateRequest,
    FolderPermissionListResponseItem,
    FolderPermissionUpdateRequest,
    FolderResponse,
    FolderUpdateRequest,
    ListFolderPermissionsParametersQuery,
    ListFoldersParametersQuery,
    ListFoldersResponse,
)

router = Router(tags=["Library"])


class PermissionQuery(ListFolderPermissionsParametersQuery, Paging):  # type: ignore[misc]
    """The spec's access filters plus paging (the response paginates)."""


@router.get(
    "/folders",
    operation_id="listFolders",
    response_model=ListFoldersResponse,
    responses=error_responses(400, 401, 403),
)
async def list_folders(
    request: Request,
    api: ApiDep,
    params: Annotated[ListFoldersParametersQuery, Depends(query(ListFoldersParametersQuery))],
) -> Response:
    """Folders sorted by ``modified_at`` descending; children of ``parent_folder_id``."""
    parent = params.parent_folder_id if isinstance(params.parent_folder_id, str) else None
    page, views = await api.call(folders.list_folders, parent, params.offset, params.page_size)
    return page_response(
        ListFoldersResponse,
        request,
        api.links,
        page,
        [mapping.folder_item(v, api.links) for v in views],
    )


@router.post(
    "/folders",
    operation_id="createFolder",
    status_code=201,
    response_model=FolderResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def create_folder(body: FolderCreateRequest, api: ApiDep) -> Response:
    """Create a folder; ``parent_folder_id`` nests it."""
    return await api.answer(
        lambda view: wire_response(mapping.folder_response(view, api.links), 201),
        folders.create_folder,
        body,
    )


@router.get(
    "/folders/{id}",
    operation_id="getFolder",
    response_model=FolderResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_folder(id: str, api: ApiDep) -> Response:
    """Get a folder."""
    return wire_response(mapping.folder_response(await api.call(folders.get_folder, id), api.links))


@router.patch(
    "/folders/{id}",
    operation_id="updateFolder",
    response_model=FolderResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def update_folder(id: str, body: FolderUpdateRequest, api: ApiDep) -> Response:
    """Rename a folder and/or move it under another parent (``null``: the root)."""
    return await api.answer(
        lambda view: wire_response(mapping.folder_response(view, api.links)),
        folders.update_folder,
        id,
        body.root,
    )


@router.delete(
    "/folders/{id}",
    operation_id="deleteFolder",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404),
)
async def delete_folder(id: str, api: ApiDep) -> Response:
    """Delete an empty folder."""
    await api.call(folders.delete_folder, id)
    return no_content()


PERMISSIONS = "/folders/{id}/permissions"
PERMISSION = "/folders/{id}/permissions/{accessor_id}"
PermissionQueryDep = Annotated[PermissionQuery, Depends(query(PermissionQuery))]


@router.get(
    PERMISSIONS,
    operation_id="listFolderPermissions",
    response_model=FolderPermissionListResponseItem,
    responses=permission_routes.READ,
)
async def list_folder_permissions(
    request: Request, id: str, api: ApiDep, params: PermissionQueryDep
) -> Response:
    """Users and teams with access to the folder."""
    return await permission_routes.list_permissions(
        request, api, "folder", id, params, FolderPermissionListResponseItem
    )


@router.post(
    PERMISSIONS,
    operation_id="addFolderPermissions",
    status_code=204,
    response_class=Response,
    responses=permission_routes.READ,
)
async def add_folder_permissions(
    id: str, body: FolderPermissionBulkCreateRequest, api: ApiDep
) -> Response:
    """Grant folder access to users or teams."""
    return await permission_routes.add_permissions(api, "folder", id, body)


@router.patch(
    PERMISSION,
    operation_id="updateFolderPermission",
    status_code=204,
    response_class=Response,
    responses=permission_routes.WRITE,
)
async def update_folder_permission(
    id: str, accessor_id: str, body: FolderPermissionUpdateRequest, api: ApiDep
) -> Response:
    """Change an accessor's access level and ownership of the folder."""
    return await permission_routes.update_permission(api, "folder", id, accessor_id, body)


@router.delete(
    PERMISSION,
    operation_id="removeFolderPermission",
    status_code=204,
    response_class=Response,
    responses=permission_routes.WRITE,
)
async def remove_folder_permission(id: str, accessor_id: str, api: ApiDep) -> Response:
    """Remove an accessor's access to the folder (not an owner's)."""
    return await permission_routes.remove_permission(api, "folder", id, accessor_id)
