"""Revocation, userinfo, and what an expired or revoked token gets on /v3."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.identity import service as identity
from cmpapi.server.oauth import store
from cmpapi.server.oauth.tables import OAuthApp
from tests.oauth.flow import (
    REVOKE,
    USERINFO,
    Browser,
    assert_oauth_error,
    assert_unauthorized,
    bearer,
)


def revoke(browser: Browser, token: str, how: str = "json", **extra: str) -> dict[str, object]:
    response = browser.http.post(REVOKE, **_body(browser, {"token": token} | extra, how))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    result: dict[str, object] = response.json()
    return result


def _body(browser: Browser, body: dict[str, str], how: str) -> dict[str, object]:
    app = browser.world.app
    creds = {"client_id": app.client_id, "client_secret": browser.world.client_secret}
    if how == "basic":
        return {"data": body, "auth": (app.client_id, browser.world.client_secret)}
    return {"json": body | creds} if how == "json" else {"data": body | creds}


def test_revoking_an_access_token(browser: Browser, subtests: pytest.Subtests) -> None:
    for how in ("json", "form", "basic"):
        with subtests.test(encoding=how):
            tokens = browser.tokens()

            answer = revoke(browser, tokens["access_token"], how, token_type_hint="access_token")

            assert answer == {"msg": "success"}
            assert_unauthorized(browser.http, tokens["access_token"])
            # Only that token: the refresh token still works.
            assert browser.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_revokes_its_grant(browser: Browser) -> None:
    tokens = browser.tokens()

    assert revoke(browser, tokens["refresh_token"]) == {"msg": "success"}

    assert_unauthorized(browser.http, tokens["access_token"])
    assert_oauth_error(browser.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_a_token_of_another_client_is_not_revoked(browser: Browser, db: Session) -> None:
    other, _ = store.create_app(
        db, browser.world.org.id, name="Other", redirect_uris=["https://o.example.com/cb"]
    )
    admin = browser.world.users["admin"]
    foreign = store.issue_token(db, other, admin.id, kind="access", ttl_seconds=600).raw
    db.commit()

    assert revoke(browser, foreign) == {"msg": "success"}

    assert browser.http.get("/v3/userlist", headers=bearer(foreign)).status_code == 200


def test_revocation_errors(browser: Browser) -> None:
    assert revoke(browser, "no-such-token", token_type_hint="refresh_token") == {"msg": "success"}
    app = browser.world.app
    wrong = {"token": "x", "client_id": app.client_id, "client_secret": "wrong"}
    assert_oauth_error(browser.http.post(REVOKE, json=wrong), 401, "invalid_client")
    no_token = {"client_id": app.client_id, "client_secret": browser.world.client_secret}
    assert_oauth_error(browser.http.post(REVOKE, json=no_token), 400, "invalid_request")


def test_userinfo_exposes_email_and_username_when_configured(browser: Browser, db: Session) -> None:
    app = db.get(OAuthApp, browser.world.app.id)
    assert app is not None
    app.expose_email = True
    user = identity.create_user(
        db, browser.world.org.id, email="jo@example.com", name="Jo Smith", username="jsmith"
    )
    token = store.issue_token(db, app, user.id, kind="access", ttl_seconds=600).raw
    db.commit()

    response = browser.http.get(USERINFO, headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {
        "sub": user.id,
        "name": "Jo Smith",
        "preferred_username": "jsmith",
        "email": "jo@example.com",
    }


def test_userinfo_rejects_invalid_tokens(browser: Browser, subtests: pytest.Subtests) -> None:
    for case, headers in {"bad": {"Authorization": "Bearer nope"}, "none": {}}.items():
        with subtests.test(case=case):
            response = browser.http.get(USERINFO, headers=headers)

            assert response.status_code == 401
            assert response.json()["error"] == "invalid_token"
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_expired_access_token_is_unauthorized(browser: Browser, db: Session) -> None:
    admin = browser.world.users["admin"]
    issued = store.issue_token(db, browser.world.app, admin.id, kind="access", ttl_seconds=2)
    db.commit()
    assert browser.http.get("/v3/userlist", headers=bearer(issued.raw)).status_code == 200
    # Real expiry, not an edited row: the process caches what the token resolved to
    # (http/principals.py) and must still refuse it once expires_at has passed.
    time.sleep(max(0.0, (issued.row.expires_at - utcnow()).total_seconds()) + 0.05)

    assert_unauthorized(browser.http, issued.raw)
    assert browser.http.get(USERINFO, headers=bearer(issued.raw)).status_code == 401
