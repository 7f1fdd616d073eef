"""Folders and folder permissions (Library tag): listFolders, createFolder, getFolder,
updateFolder, deleteFolder, listFolderPermissions, addFolderPermissions,
updateFolderPermission, removeFolderPermission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from cmpapi.server.db.repository import Page
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import pagination
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import no_content, wire_response
from cmpapi.server.resources.library import folders, mapping, permissions
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

router = APIRouter(tags=["Library"])


class PermissionQuery(ListFolderPermissionsParametersQuery, Paging):  # type: ignore[misc]
    """The spec's access filters plus paging (the response paginates)."""


@router.get("/folders", operation_id="listFolders", response_model=ListFoldersResponse,
            responses=error_responses(400, 401, 403))  # fmt: skip
async def list_folders(
    request: Request,
    api: ApiDep,
    params: Annotated[ListFoldersParametersQuery, Depends(query(ListFoldersParametersQuery))],
) -> Response:
    """Folders sorted by ``modified_at`` descending; children of ``parent_folder_id``."""
    parent = params.parent_folder_id if isinstance(params.parent_folder_id, str) else None
    page, views = await api.call(folders.list_folders, parent, params.offset, params.page_size)
    return wire_response(
        ListFoldersResponse(
            data=[mapping.folder_response(v, api.links) for v in views],
            pagination=pagination(request, api.links, page),
        )
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
    view = await api.call(folders.create_folder, body)
    return wire_response(mapping.folder_response(view, api.links), 201)


@router.get("/folders/{id}", operation_id="getFolder", response_model=FolderResponse,
            responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def get_folder(id: str, api: ApiDep) -> Response:
    """Get a folder."""
    return wire_response(mapping.folder_response(await api.call(folders.get_folder, id), api.links))


@router.patch("/folders/{id}", operation_id="updateFolder", response_model=FolderResponse,
              responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def update_folder(id: str, body: FolderUpdateRequest, api: ApiDep) -> Response:
    """Rename a folder and/or move it under another parent (``null``: the root)."""
    view = await api.call(folders.update_folder, id, body.root)
    return wire_response(mapping.folder_response(view, api.links))


@router.delete("/folders/{id}", operation_id="deleteFolder", status_code=204,
               response_class=Response, responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def delete_folder(id: str, api: ApiDep) -> Response:
    """Delete an empty folder."""
    await api.call(folders.delete_folder, id)
    return no_content()


@router.get("/folders/{id}/permissions", operation_id="listFolderPermissions",
            response_model=FolderPermissionListResponseItem,
            responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def list_folder_permissions(
    request: Request,
    id: str,
    api: ApiDep,
    params: Annotated[PermissionQuery, Depends(query(PermissionQuery))],
) -> Response:
    """Users and teams with access to the folder."""
    filters: dict[str, str | None] = {
        str(k): str(v) for k, v in params.model_dump(exclude={"offset", "page_size"}).items()
    }
    views = await api.call(permissions.list_permissions, "folder", id, filters)
    chunk = views[params.offset : params.offset + params.page_size + 1]
    page = Page(chunk[: params.page_size], params.offset, params.page_size,
                len(chunk) > params.page_size)  # fmt: skip
    return wire_response(
        FolderPermissionListResponseItem(
            data=[mapping.permission_item(v, api.links) for v in page.items],
            pagination=pagination(request, api.links, page),
        )
    )


@router.post("/folders/{id}/permissions", operation_id="addFolderPermissions", status_code=204,
             response_class=Response, responses=error_responses(400, 401, 403, 404))  # fmt: skip
async def add_folder_permissions(
    id: str, body: FolderPermissionBulkCreateRequest, api: ApiDep
) -> Response:
    """Grant folder access to users or teams."""
    await api.call(permissions.add_permissions, "folder", id, body)
    return no_content()


@router.patch("/folders/{id}/permissions/{accessor_id}", operation_id="updateFolderPermission",
              status_code=204, response_class=Response,
              responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip
async def update_folder_permission(
    id: str, accessor_id: str, body: FolderPermissionUpdateRequest, api: ApiDep
) -> Response:
    """Change an accessor's access level and ownership."""
    await api.call(permissions.update_permission, "folder", id, accessor_id, body)
    return no_content()


@router.delete("/folders/{id}/permissions/{accessor_id}", operation_id="removeFolderPermission",
               status_code=204, response_class=Response,
               responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip
async def remove_folder_permission(id: str, accessor_id: str, api: ApiDep) -> Response:
    """Remove an accessor's access (owners cannot be removed)."""
    await api.call(permissions.remove_permission, "folder", id, accessor_id)
    return no_content()
