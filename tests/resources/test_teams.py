"""Teams: listTeams, getTeam."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmpapi.server.identity import service as identity
from tests.support.mixins import ResourceTests
from tests.support.world import World


class TestTeams(ResourceTests):
    list_path = "/v3/teams"
    item_path = "/v3/teams/{id}"
    baseline = 1  # the world's team

    def make(self, db: Session, world: World, n: int) -> list[str]:
        ids = [identity.create_team(db, world.org.id, f"Team {i:02d}").id for i in range(n)]
        db.commit()
        return ids


def test_get_team_lists_its_users(client, world: World) -> None:
    r = client.get(f"/v3/teams/{world.team.id}", headers=world.auth("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Acme Team"
    assert body["links"] == {"self": f"https://testserver/v3/teams/{world.team.id}"}
    assert sorted(u["email"] for u in body["users"]) == ["admin@example.com", "member@example.com"]


def test_teams_are_listed_by_name(client, db: Session, world: World) -> None:
    identity.create_team(db, world.org.id, "Zeta")
    identity.create_team(db, world.org.id, "Alpha")
    db.commit()
    names = [t["name"] for t in client.get("/v3/teams", headers=world.auth()).json()["data"]]
    assert names == sorted(names)
