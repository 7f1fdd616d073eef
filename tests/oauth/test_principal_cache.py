"""The per-process principal cache (http/principals.py): what it may keep and for how long."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.http import principals
from tests.support.world import World


def _deactivate_member(db: Session, world: World) -> None:
    world.users["member"].is_active = False
    db.commit()


def test_a_change_made_elsewhere_applies_within_the_ttl(
    client, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(principals.CACHE, "ttl", 0.3)
    headers = world.auth("member")
    assert client.get("/v3/userlist", headers=headers).status_code == 200
    _deactivate_member(db, world)  # as `cmpapi users` in another process would
    started = time.monotonic()
    while client.get("/v3/userlist", headers=headers).status_code == 200:
        assert time.monotonic() - started < 0.3 + 0.5, "still served well past the TTL"
        time.sleep(0.02)
    assert client.get("/v3/userlist", headers=headers).status_code == 401


def test_ttl_zero_reads_the_token_on_every_request(
    client, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(principals.CACHE, "ttl", 0.0)
    headers = world.auth("member")
    assert client.get("/v3/userlist", headers=headers).status_code == 200
    _deactivate_member(db, world)
    assert client.get("/v3/userlist", headers=headers).status_code == 401


def test_forget_all_drops_a_lookup_that_began_before_it(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = principals.PrincipalCache(ttl=60)
    token = world.tokens["member"]

    # A revocation lands while the lookup reads the row: the row read is the old one, but
    # the lookup must not keep it, or the revoked token would live on for the TTL.
    original = Session.connection

    def connection_then_revoke(self: Session, *a: object, **kw: object) -> object:
        cache.forget_all()
        return original(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Session, "connection", connection_then_revoke)
    assert cache.principal(db, token) is not None
    monkeypatch.setattr(Session, "connection", original)
    assert cache._entries == {}
    assert cache.principal(db, token) is not None
    assert len(cache._entries) == 1
