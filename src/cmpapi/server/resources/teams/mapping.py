"""Team rows to wire models."""

from __future__ import annotations

from typing import Any

from cmpapi.server.http.links import Links
from cmpapi.server.identity.tables import Team as TeamRow
from cmpapi.wire import TeamWithUsers


def team(row: Any, links: Links) -> dict[str, Any]:
    """listTeams: a ``Team`` as plain data (``page_response`` checks it), from a
    ``service.LIST_COLUMNS`` row or a Team."""
    return {"id": row.id, "name": row.name, "links": {"self": links.to("getTeam", id=row.id)}}


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
