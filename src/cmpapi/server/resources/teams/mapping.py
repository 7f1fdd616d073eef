"""Team rows to wire models."""

from __future__ import annotations

from cmpapi.server.http.links import Links
from cmpapi.server.identity.tables import Team as TeamRow
from cmpapi.wire import Team, TeamWithUsers


def team(row: TeamRow, links: Links) -> Team:
    return Team.model_validate(
        {"id": row.id, "name": row.name, "links": {"self": links.to("getTeam", id=row.id)}}
    )


def team_with_users(row: TeamRow, links: Links) -> TeamWithUsers:
    """The spec makes member emails required here, so they are always included."""
    users = [
        {"id": m.user.id, "name": m.user.full_name, "email": m.user.email}
        for m in row.members
        if m.user.is_active
    ]
    return TeamWithUsers.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "links": {"self": links.to("getTeam", id=row.id)},
            "users": users,
        }
    )
