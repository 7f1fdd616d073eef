"""Teams (tag "Teams"): listTeams, getTeam."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import page_response
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.teams import mapping, service
from cmpapi.wire import ListTeamsParametersQuery, ListTeamsResponse, TeamWithUsers

router = Router(tags=["Teams"])


@router.get(
    "/teams",
    operation_id="listTeams",
    response_model=ListTeamsResponse,
    responses=error_responses(401, 403),
)
async def list_teams(
    request: Request,
    api: ApiDep,
    params: Annotated[ListTeamsParametersQuery, Depends(query(ListTeamsParametersQuery))],
) -> Response:
    """Get a list of teams."""
    page = await api.call(service.list_teams, params.offset, params.page_size)
    return page_response(
        ListTeamsResponse,
        request,
        api.links,
        page,
        [mapping.team(t, api.links) for t in page.items],
    )


@router.get(
    "/teams/{id}",
    operation_id="getTeam",
    response_model=TeamWithUsers,
    responses=error_responses(400, 401, 403, 404),
)
async def get_team(id: str, api: ApiDep) -> Response:
    """Get a team with its users."""
    row = await api.call(service.get_team, id)
    return wire_response(mapping.team_with_users(row, api.links))
