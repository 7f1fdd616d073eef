"""The generic repository: scoping, paging, counting, add/update/delete."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import NotFound
from cmpapi.server.identity import service as identity
from cmpapi.server.identity.tables import Team
from tests.support.world import World, build_world


def test_crud_and_scoping(db: Session, world: World) -> None:
    other = build_world(db, org_name="Other", prefix="o-")
    repo = Repository(Team, db, world.org.id)
    team = repo.add(Team(name="New"))
    assert team.org_id == world.org.id
    assert repo.get(team.id).name == "New"
    repo.update(team, {"name": "Newer"})
    assert repo.find(Team.name == "Newer") is team
    with pytest.raises(NotFound):
        repo.get(other.team.id)  # another organization's row
    with pytest.raises(AttributeError):
        repo.update(team, {"no_such_column": 1})
    repo.delete(team)
    with pytest.raises(NotFound):
        repo.get(team.id)


def test_paging_and_total(db: Session, world: World) -> None:
    for i in range(5):
        identity.create_team(db, world.org.id, f"T{i}")
    repo = Repository(Team, db, world.org.id)
    assert repo.count() == 6
    first = repo.list(order_by=[Team.name], offset=0, page_size=4, with_total=True)
    assert (len(first.items), first.has_next, first.has_previous, first.total) == (
        4,
        True,
        False,
        6,
    )
    last = repo.list(order_by=[Team.name], offset=4, page_size=4)
    assert (len(last.items), last.has_next, last.has_previous, last.total) == (2, False, True, None)
    assert not {t.id for t in first.items} & {t.id for t in last.items}
    assert repo.count(Team.name.like("T%")) == 5
