"""Users (tag "Users"): listUsers, findUserByEmail, getUser."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import redirect, wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.users import mapping, service
from cmpapi.wire import (
    FindUserByEmailParametersQuery,
    ListUsersParametersQuery,
    UserListResponse,
    UserResponse,
)

router = Router(tags=["Users"])


@router.get(
    "/userlist",
    operation_id="listUsers",
    response_model=UserListResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def list_users(
    request: Request,
    api: ApiDep,
    params: Annotated[ListUsersParametersQuery, Depends(query(ListUsersParametersQuery))],
) -> Response:
    """Get list of users."""
    page = await api.call(service.list_users, params.offset, params.page_size)
    return page_response(
        UserListResponse,
        request,
        api.links,
        page,
        [mapping.user_list_item(u, api.links) for u in page.items],
    )


@router.get(
    "/users",
    operation_id="findUserByEmail",
    status_code=302,
    response_class=Response,
    responses={
        302: {"description": "Redirect to the discovered user"},
        **error_responses(400, 401, 403, 404),
    },
)
async def find_user_by_email(
    api: ApiDep,
    params: Annotated[
        FindUserByEmailParametersQuery, Depends(query(FindUserByEmailParametersQuery))
    ],
) -> Response:
    """Find a user by email address: 302 to the user's URL."""
    user = await api.call(service.find_user_by_email, params.email)
    return redirect(api.links.to("getUser", id=user.id))


@router.get(
    "/users/{id}",
    operation_id="getUser",
    response_model=UserResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def get_user(id: str, api: ApiDep) -> Response:
    """Get a user."""
    user = await api.call(service.get_user, id)
    return wire_response(mapping.user_response(user, api.links, api.principal.expose_email))
