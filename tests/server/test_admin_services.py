"""The rules behind `cmpapi users|teams|apps delete` on both backends: which rows refer to
an id (text and JSON columns, PostgreSQL's JSONB included), and deleting only what nothing
refers to, with its own sign-in state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.references import references
from cmpapi.server.errors import Conflict
from cmpapi.server.identity import admin
from cmpapi.server.identity.tables import Team, TeamMember, User
from cmpapi.server.jobs import enqueue
from cmpapi.server.oauth import app_admin, store
from cmpapi.server.oauth.tables import OAuthApp, OAuthGrant, OAuthToken
from tests.support.world import World


def test_references_are_found_in_text_and_json_columns(db: Session, world: World) -> None:
    member = world.users["member"]
    # The world's token and team membership are her own rows.
    assert references(db, member.id, ignore=admin.USER_OWN_ROWS) == {}
    assert references(db, member.id)["oauth_tokens.user_id"] == 1
    enqueue(db, "test.kind", {"assignees": [{"type": "user", "id": member.id}]})
    store.create_app(db, world.org.id, name="Bot", redirect_uris=[], token_user_id=member.id)
    found = references(db, member.id, ignore=admin.USER_OWN_ROWS)
    assert found == {"jobs.payload": 1, "oauth_apps.token_user_id": 1}
    # A prefix or a pattern is no match: the whole id, as a JSON string.
    assert references(db, member.id[:-1], ignore=admin.USER_OWN_ROWS) == {}
    assert references(db, "%", ignore=admin.USER_OWN_ROWS) == {}


def test_a_user_is_deleted_only_when_deactivated_and_unreferenced(
    db: Session, world: World
) -> None:
    member = world.users["member"]
    with pytest.raises(Conflict, match="deactivate them first"):
        admin.delete_user(db, member)
    assert admin.deactivate_user(db, member) == 1  # the world's token
    job = enqueue(db, "test.kind", {"owner": member.id})
    with pytest.raises(Conflict, match=r"jobs\.payload \(1 row\)"):
        admin.delete_user(db, member)
    db.delete(job)
    admin.delete_user(db, member)
    db.commit()
    assert db.get(User, member.id) is None
    for table in (OAuthToken, OAuthGrant, TeamMember):
        count = select(func.count()).select_from(table).where(table.user_id == member.id)
        assert db.scalar(count) == 0


def test_the_last_active_admin_stays(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match="only active admin"):
        admin.deactivate_user(db, world.users["admin"])
    with pytest.raises(Conflict, match="only active admin"):
        admin.set_role(db, world.users["admin"], "member")
    admin.set_role(db, world.users["member"], "admin")
    assert admin.deactivate_user(db, world.users["admin"]) == 1
    db.commit()


def test_teams_and_apps(db: Session, world: World) -> None:
    team = admin.find_team(db, world.team.id)
    enqueue(db, "test.kind", {"team": team.id})
    with pytest.raises(Conflict, match=r"jobs\.payload"):
        admin.delete_team(db, team)
    other = admin.find_team(db, _new_team(db, world))
    assert admin.delete_team(db, other) == 1  # its one membership went with it
    assert db.scalars(select(Team.id)).all() == [team.id]
    app = app_admin.find_app(db, world.app.client_id)
    with pytest.raises(Conflict, match="deactivate it first"):
        app_admin.delete_app(db, app)
    assert app_admin.deactivate_app(db, app) == 3  # the world's tokens
    app_admin.delete_app(db, app)
    db.commit()
    assert db.get(OAuthApp, world.app.id) is None
    assert db.scalar(select(func.count()).select_from(OAuthToken)) == 0


def _new_team(db: Session, world: World) -> str:
    from cmpapi.server.identity import service

    return service.create_team(db, world.org.id, "Other", [world.users["viewer"].id]).id
