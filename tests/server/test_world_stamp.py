"""The tests' world copied from a stamp is the world a build makes (tests/support/world.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.db.tables import Base
from tests.support import world as worlds


def _rows(db: Session) -> dict[str, list[dict[str, Any]]]:
    return {
        table.name: sorted((dict(row._mapping) for row in db.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
    }


def _emptied(db: Session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        db.execute(table.delete())
    db.commit()


def test_a_stamped_world_holds_the_rows_of_a_built_one(
    db: Session, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worlds, "STAMPS", {})
    built = worlds.stamped_world(db)
    assert len(worlds.STAMPS) == 1  # the build in an empty database was stamped
    rows = _rows(db)
    assert sum(map(len, rows.values())) >= 10

    _emptied(db)
    stamped = worlds.stamped_world(db)
    assert _rows(db) == rows
    # Its objects read their rows when first read, as a build's do after its commit: a
    # change made before then (through the API) is seen.
    users = Base.metadata.tables["users"]
    member = stamped.users["member"]
    with db.get_bind().begin() as conn:
        conn.execute(users.update().where(users.c.id == member.id).values(first_name="Renamed"))
    assert member.first_name == "Renamed"
    conn_rows = _rows(db)
    conn_rows["users"] = [
        u | {"first_name": "Member"} if u["id"] == member.id else u for u in conn_rows["users"]
    ]
    assert conn_rows == rows
    assert stamped.tokens == built.tokens
    assert stamped.client_secret == built.client_secret
    assert {r: u.email for r, u in stamped.users.items()} == {
        r: u.email for r, u in built.users.items()
    }
    assert stamped.team.id == built.team.id and stamped.app.id == built.app.id
    for who in ("admin", "member", "viewer"):  # the copied tokens work
        user_id = stamped.users[who].id
        me = client.get(f"/v3/users/{user_id}", headers=stamped.auth(who))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user_id


def test_a_database_with_other_rows_is_not_stamped(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worlds, "STAMPS", {})
    worlds.build_world(db, org_name="Earlier", prefix="e-")
    worlds.stamped_world(db)
    assert worlds.STAMPS == {}
