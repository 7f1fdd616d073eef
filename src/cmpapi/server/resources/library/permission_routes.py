"""What the eight permission operations share: listFolderPermissions, addFolderPermissions,
updateFolderPermission, removeFolderPermission (``folder_routes``) and the same four for
assets (``asset_routes``). Each operation is a route function of its own there; these
helpers do the work once, for either kind of resource.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from cmpapi.server.db.repository import Page
from cmpapi.server.http.api import error_responses
from cmpapi.server.http.deps import Api
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import Paging
from cmpapi.server.http.responses import no_content
from cmpapi.server.resources.library import mapping, permissions

READ = error_responses(400, 401, 403, 404)
WRITE = error_responses(400, 401, 403, 404, 422)


async def list_permissions(
    request: Request,
    api: Api,
    kind: str,
    resource_id: str,
    params: Paging,
    envelope: type[BaseModel],
) -> Response:
    """A page of the users and teams with access to the resource, filtered as asked."""
    filters = {
        str(key): str(value)
        for key, value in params.model_dump(exclude={"offset", "page_size"}).items()
    }
    views = await api.call(permissions.list_permissions, kind, resource_id, filters)
    chunk = views[params.offset : params.offset + params.page_size + 1]
    page: Page[Any] = Page(
        chunk[: params.page_size], params.offset, params.page_size, len(chunk) > params.page_size
    )
    data = [mapping.permission_item(v, api.links) for v in page.items]
    return page_response(envelope, request, api.links, page, data)


async def add_permissions(api: Api, kind: str, resource_id: str, body: BaseModel) -> Response:
    """Grant users or teams access to the resource."""
    await api.call(permissions.add_permissions, kind, resource_id, body)
    return no_content()


async def update_permission(
    api: Api, kind: str, resource_id: str, accessor_id: str, body: BaseModel
) -> Response:
    """Change an accessor's access level and ownership of the resource."""
    await api.call(permissions.update_permission, kind, resource_id, accessor_id, body)
    return no_content()


async def remove_permission(api: Api, kind: str, resource_id: str, accessor_id: str) -> Response:
    """Remove an accessor's access to the resource (not an owner's)."""
    await api.call(permissions.remove_permission, kind, resource_id, accessor_id)
    return no_content()
