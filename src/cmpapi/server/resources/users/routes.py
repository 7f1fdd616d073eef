"""Users (tag "Users"): listUsers, findUserByEmail, getUser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from cmpapi.server.http.api import CurrentPrincipal, DbSession, LinksDep, error_responses
from cmpapi.server.http.paging import pagination
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import redirect, wire_response
from cmpapi.server.resources.users import mapping, service
from cmpapi.wire import (
    FindUserByEmailParametersQuery,
    ListUsersParametersQuery,
    UserListResponse,
    UserResponse,
)

router = APIRouter(tags=["Users"])


@router.get(
    "/userlist",
    operation_id="listUsers",
    response_model=UserListResponse,
    responses=error_responses(400, 401, 403, 404),
)
def list_users(
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    links: LinksDep,
    params: Annotated[ListUsersParametersQuery, Depends(query(ListUsersParametersQuery))],
) -> Response:
    """Get list of users."""
    page = service.list_users(session, principal, params.offset, params.page_size)
    return wire_response(
        UserListResponse(
            data=[mapping.user_list_item(u, links) for u in page.items],
            pagination=pagination(request, links, page),
        )
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
def find_user_by_email(
    principal: CurrentPrincipal,
    session: DbSession,
    links: LinksDep,
    params: Annotated[
        FindUserByEmailParametersQuery, Depends(query(FindUserByEmailParametersQuery))
    ],
) -> Response:
    """Find a user by email address: 302 to the user's URL."""
    user = service.find_user_by_email(session, principal, params.email)
    return redirect(links.api("users", user.id))


@router.get(
    "/users/{id}",
    operation_id="getUser",
    response_model=UserResponse,
    responses=error_responses(400, 401, 403, 404),
)
def get_user(id: str, principal: CurrentPrincipal, session: DbSession, links: LinksDep) -> Response:
    """Get a user."""
    user = service.get_user(session, principal, id)
    return wire_response(mapping.user_response(user, links, principal.expose_email))
