"""Teams (tag "Teams"): listTeams, getTeam."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from cmpapi.server.http.api import CurrentPrincipal, DbSession, LinksDep, error_responses
from cmpapi.server.http.paging import pagination
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.resources.teams import mapping, service
from cmpapi.wire import ListTeamsParametersQuery, ListTeamsResponse, TeamWithUsers

router = APIRouter(tags=["Teams"])


@router.get(
    "/teams",
    operation_id="listTeams",
    response_model=ListTeamsResponse,
    responses=error_responses(401, 403),
)
def list_teams(
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    links: LinksDep,
    params: Annotated[ListTeamsParametersQuery, Depends(query(ListTeamsParametersQuery))],
) -> Response:
    """Get a list of teams."""
    page = service.list_teams(session, principal, params.offset, params.page_size)
    return wire_response(
        ListTeamsResponse(
            data=[mapping.team(t, links) for t in page.items],
            pagination=pagination(request, links, page),
        )
    )


@router.get(
    "/teams/{id}",
    operation_id="getTeam",
    response_model=TeamWithUsers,
    responses=error_responses(400, 401, 403, 404),
)
def get_team(id: str, principal: CurrentPrincipal, session: DbSession, links: LinksDep) -> Response:
    """Get a team with its users."""
    return wire_response(mapping.team_with_users(service.get_team(session, principal, id), links))
