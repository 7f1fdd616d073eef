"""Users: listUsers, findUserByEmail, getUser."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.http import principals
from cmpapi.server.identity import service as identity
from tests.support.mixins import ResourceTests
from tests.support.world import World


class TestUsers(ResourceTests):
    list_path = "/v3/userlist"
    item_path = "/v3/users/{id}"
    baseline = 3  # the world's admin, member and viewer

    def make(self, db: Session, world: World, n: int) -> list[str]:
        ids = [
            identity.create_user(
                db, world.org.id, email=f"u{i}-{world.org.id}@example.com", name=f"User {i}"
            ).id
            for i in range(n)
        ]
        db.commit()
        return ids


def test_list_item_shape(client, world: World) -> None:
    r = client.get("/v3/userlist", headers=world.auth())
    admin = next(u for u in r.json()["data"] if u["id"] == world.users["admin"].id)
    assert admin == {
        "id": world.users["admin"].id,
        "first_name": "Admin",
        "last_name": "Acme",
        "full_name": "Admin Acme",
        "image_url": None,
        "roles": [{"name": "Admin"}],
        "links": {"self": f"https://testserver/v3/users/{world.users['admin'].id}"},
    }


def test_get_user_hides_email_unless_the_app_exposes_it(
    client, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's setting is read with the token, which each process caches for
    # token_cache_seconds (http/principals.py): the change shows once that has passed.
    monkeypatch.setattr(principals.CACHE, "ttl", 0.2)
    url = f"/v3/users/{world.users['member'].id}"
    assert client.get(url, headers=world.auth()).json()["email"] is None
    world.app.expose_email = True
    db.commit()
    time.sleep(0.25)
    assert client.get(url, headers=world.auth()).json()["email"] == "member@example.com"


def test_find_user_by_email_redirects_to_the_user(client, world: World) -> None:
    r = client.get("/v3/users", params={"email": "Member@Example.com"}, headers=world.auth())
    assert r.status_code == 302
    assert r.headers["location"] == f"https://testserver/v3/users/{world.users['member'].id}"
    assert r.content == b""


def test_find_user_by_unknown_email_is_404(client, world: World) -> None:
    r = client.get("/v3/users?email=" + quote("nobody@example.com"), headers=world.auth())
    assert r.status_code == 404


def test_find_user_by_email_requires_the_email(client, world: World) -> None:
    r = client.get("/v3/users", headers=world.auth())
    assert r.status_code == 400
    assert "email" in r.json()["errors"]


def test_deactivated_user_token_is_rejected(client, db: Session, world: World) -> None:
    world.users["member"].is_active = False
    db.commit()
    assert client.get("/v3/userlist", headers=world.auth("member")).status_code == 401


def test_public_base_url_is_used_for_links(app, client, world: World) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"public_base_url": "https://cmp.example.com/"}
    )
    r = client.get("/v3/userlist", params={"page_size": 1}, headers=world.auth())
    assert r.json()["data"][0]["links"]["self"].startswith("https://cmp.example.com/v3/users/")
    assert r.json()["pagination"]["next"].startswith("https://cmp.example.com/v3/userlist?")
