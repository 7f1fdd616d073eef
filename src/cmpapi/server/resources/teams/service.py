"""Teams: listing and reading, with members, within the caller's organization."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.identity.tables import Team


def _repo(session: Session, principal: Principal) -> Repository[Team]:
    require(principal, "teams:read")
    return Repository(Team, session, principal.org_id)


LIST_COLUMNS = (Team.id, Team.name)
BY_NAME = (Team.name,)


def list_teams(session: Session, principal: Principal, offset: int, page_size: int) -> Page[Any]:
    """Teams of the organization, by name (rows of ``LIST_COLUMNS``: the members, which an
    ORM load of a team brings along, are not listed)."""
    return _repo(session, principal).rows(
        LIST_COLUMNS, order_by=BY_NAME, offset=offset, page_size=page_size
    )


def get_team(session: Session, principal: Principal, team_id: str) -> Team:
    """One team with its members."""
    return _repo(session, principal).get(team_id)
