"""The four permission operations, registered once per resource kind (folders, assets):
list<Kind>Permissions, add<Kind>Permissions, update<Kind>Permission, remove<Kind>Permission.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from cmpapi.server.db.repository import Page
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import parse_query
from cmpapi.server.http.responses import no_content
from cmpapi.server.resources.library import mapping, permissions

Handler = Callable[..., Coroutine[Any, Any, Response]]


@dataclass(frozen=True)
class Kind:
    """How one resource kind spells its permission operations in the spec."""

    kind: str  # "folder" | "asset"
    op: str  # "Folder" | "Asset"
    base: str  # "/folders/{id}" | "/assets/{asset_id}"
    id_param: str  # "id" | "asset_id"
    query_model: type[BaseModel]  # the spec's filters mixed with Paging
    list_model: type[BaseModel]
    create_model: type[BaseModel]
    update_model: type[BaseModel]


def register(router: APIRouter, k: Kind) -> None:
    """Add the four operations of ``k`` to the router."""
    url, one = f"{k.base}/permissions", f"{k.base}/permissions/{{accessor_id}}"
    router.add_api_route(url, _lister(k), methods=["GET"], operation_id=f"list{k.op}Permissions",
                         response_model=k.list_model,
                         responses=error_responses(400, 401, 403, 404))  # fmt: skip
    router.add_api_route(url, _adder(k), methods=["POST"], operation_id=f"add{k.op}Permissions",
                         status_code=204, response_class=Response,
                         responses=error_responses(400, 401, 403, 404))  # fmt: skip
    router.add_api_route(one, _updater(k), methods=["PATCH"],
                         operation_id=f"update{k.op}Permission", status_code=204,
                         response_class=Response,
                         responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip
    router.add_api_route(one, _remover(k), methods=["DELETE"],
                         operation_id=f"remove{k.op}Permission", status_code=204,
                         response_class=Response,
                         responses=error_responses(400, 401, 403, 404, 422))  # fmt: skip


def _lister(k: Kind) -> Handler:
    async def handler(request: Request, api: ApiDep) -> Response:
        params: Any = parse_query(k.query_model, request.query_params.multi_items())
        filters = {
            str(key): str(value)
            for key, value in params.model_dump(exclude={"offset", "page_size"}).items()
        }
        resource_id = request.path_params[k.id_param]
        views = await api.call(permissions.list_permissions, k.kind, resource_id, filters)
        chunk = views[params.offset : params.offset + params.page_size + 1]
        page = Page(chunk[: params.page_size], params.offset, params.page_size,
                    len(chunk) > params.page_size)  # fmt: skip
        data = [mapping.permission_item(v, api.links) for v in page.items]
        return page_response(k.list_model, request, api.links, page, data)

    handler.__name__ = f"list_{k.kind}_permissions"
    handler.__doc__ = f"Users and teams with access to the {k.kind}."
    return handler


def _adder(k: Kind) -> Handler:
    async def handler(request: Request, body: Any, api: ApiDep) -> Response:
        resource_id = request.path_params[k.id_param]
        await api.call(permissions.add_permissions, k.kind, resource_id, body)
        return no_content()

    handler.__annotations__["body"] = k.create_model
    handler.__name__ = f"add_{k.kind}_permissions"
    handler.__doc__ = f"Grant {k.kind} access to users or teams."
    return handler


def _updater(k: Kind) -> Handler:
    async def handler(request: Request, accessor_id: str, body: Any, api: ApiDep) -> Response:
        resource_id = request.path_params[k.id_param]
        await api.call(permissions.update_permission, k.kind, resource_id, accessor_id, body)
        return no_content()

    handler.__annotations__["body"] = k.update_model
    handler.__name__ = f"update_{k.kind}_permission"
    handler.__doc__ = f"Change an accessor's access level and ownership of the {k.kind}."
    return handler


def _remover(k: Kind) -> Handler:
    async def handler(request: Request, accessor_id: str, api: ApiDep) -> Response:
        resource_id = request.path_params[k.id_param]
        await api.call(permissions.remove_permission, k.kind, resource_id, accessor_id)
        return no_content()

    handler.__name__ = f"remove_{k.kind}_permission"
    handler.__doc__ = f"Remove an accessor's access to the {k.kind} (not an owner's)."
    return handler
