"""cmpapi's own /ext/v1/apps: admins see their organization's apps; others get 403."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.support.world import World, build_world


def test_admin_lists_own_apps_without_secrets(client, db: Session, world: World) -> None:
    build_world(db, org_name="Other", prefix="o-")
    r = client.get("/ext/v1/apps", headers=world.auth("admin"))
    assert r.status_code == 200
    (app,) = r.json()["data"]
    assert app["client_id"] == world.app.client_id
    assert app["redirect_uris"] == ["https://app.example.com/callback"]
    assert "secret" not in str(r.json())


def test_members_and_viewers_are_refused_with_the_cmp_body(client, world: World) -> None:
    for who in ("member", "viewer"):
        r = client.get("/ext/v1/apps", headers=world.auth(who))
        assert r.status_code == 403
        assert r.json() == {"message": "You do not have the permission to perform this operation"}


def test_no_token_is_401(client) -> None:
    assert client.get("/ext/v1/apps").json() == {"message": "Unauthorized"}
